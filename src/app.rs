//! The document shell and the route table. Nothing else lives here.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, Lazy, SsrMode};

use crate::components::layout::Layout;
use crate::pages::public::not_found::NotFound;
use crate::routes::*;

/// The whole HTML document, rendered on the server around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="theme-color" content="#0b5f6b"/>
                // Static here: a leptos_meta <Meta> at the top of App broke hydration (leptos_meta 0.8.7).
                <meta name="description" content="See a verified doctor from home: book in your timezone, meet by video, audio or chat, and get your prescription."/>
                <link rel="manifest" href="/manifest.webmanifest"/>
                <link rel="icon" href="/favicon.ico" sizes="32x32"/>
                <link rel="icon" href="/icons/icon.svg" type="image/svg+xml"/>
                <link rel="apple-touch-icon" href="/icons/apple-touch-icon.png"/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application: layout around the routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|text: String| {
            if text.is_empty() { "Telehealth".to_string() } else { format!("{text} · Telehealth") }
        }/>
        <Router>
            <Layout>
                // Every page is its own lazily loaded chunk (src/routes.rs).
                // Every page is rendered whole before it is sent (SsrMode::Async):
                // statuses from guards reach the browser, and no page depends on
                // out-of-order streaming, which once left a response unfinished
                // under the parallel test suite.
                <Routes fallback=NotFound>
                    <Route path=path!("") view={Lazy::<HomeRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/about") view={Lazy::<AboutRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/sign-in") view={Lazy::<SignInRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/sign-up") view={Lazy::<SignUpRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/verify-email") view={Lazy::<VerifyEmailRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/dev/mailbox") view={Lazy::<DevMailboxRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/account/sessions") view={Lazy::<SessionsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/account/password") view={Lazy::<ChangePasswordRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/account/profile") view={Lazy::<ProfileRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/account/mfa") view={Lazy::<MfaRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/account/data") view={Lazy::<DataRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view={Lazy::<AdminDashboardRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/consultations") view={Lazy::<AdminConsultationsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/payments") view={Lazy::<AdminPaymentsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/audit") view={Lazy::<AdminAuditRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users") view={Lazy::<AdminUsersRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/doctors") view={Lazy::<AdminDoctorsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/doctor/profile") view={Lazy::<PracticeProfileRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/doctor/availability") view={Lazy::<AvailabilityRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/doctors") view={Lazy::<DoctorSearchRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/doctors/:id") view={Lazy::<DoctorRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/book") view={Lazy::<BookRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/consultations") view={Lazy::<MyConsultationsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/consultations/:id/pay") view={Lazy::<PayRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/consultations/:id/move") view={Lazy::<RescheduleRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/consultations/:id/room") view={Lazy::<RoomRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/prescriptions") view={Lazy::<MyPrescriptionsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/doctor/schedule") view={Lazy::<AgendaRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/forgot-password") view={Lazy::<ForgotPasswordRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/reset-password") view={Lazy::<ResetPasswordRoute>::new()} ssr=SsrMode::Async/>
                </Routes>
            </Layout>
        </Router>
    }
}
