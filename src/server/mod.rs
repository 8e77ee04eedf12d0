//! Everything that only runs on the server. Compiled with the `ssr` feature.

pub mod auth;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod fhir;
pub mod http;
pub mod integrations;
pub mod password;
pub mod pdf;
pub mod room_hub;
pub mod scale;
pub mod services;
pub mod startup;
pub mod state;
pub mod telemetry;
