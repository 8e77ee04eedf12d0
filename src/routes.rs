//! One lazily loaded route per page. Built with `cargo leptos build --split`,
//! each page's WebAssembly is its own chunk, fetched when the page is first
//! shown (code several pages share goes into chunks of its own). The shell
//! (layout, router, the not-found page) stays in the main module. The server
//! renders the same pages as before and adds `<link rel="preload">` for the
//! chunks the page it sent needs, so hydration does not wait on a round trip.

use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

use crate::pages::account::{
    data::DataPage, mfa::MfaPage, password::ChangePasswordPage, profile::ProfilePage, sessions::SessionsPage,
};
use crate::pages::admin::{
    audit::AdminAuditPage, consultations::AdminConsultationsPage, dashboard::AdminDashboardPage,
    doctors::AdminDoctorsPage, payments::AdminPaymentsPage, users::AdminUsersPage,
};
use crate::pages::consultations::{
    agenda::AgendaPage, book::BookPage, mine::MyConsultationsPage, pay::PayPage, prescriptions::MyPrescriptionsPage,
    reschedule::ReschedulePage, room::RoomPage,
};
use crate::pages::doctors::{profile::DoctorPage, search::DoctorSearchPage};
use crate::pages::practice::{availability::AvailabilityPage, profile::PracticeProfilePage};
use crate::pages::public::forgot_password::{ForgotPasswordPage, ResetPasswordPage};
use crate::pages::public::{
    about::AboutPage, dev_mailbox::DevMailboxPage, home::HomePage, sign_in::SignInPage, sign_up::SignUpPage,
    verify_email::VerifyEmailPage,
};

/// For each `Route => Page`: a route type whose view renders the page
/// component. A page loads its own data (resources in its body), so the route
/// has none of its own. `#[lazy_route]` names the split view function after
/// the route type, so every route type needs a name of its own.
macro_rules! lazy_pages {
    ($($route:ident => $page:ident,)*) => {$(
        #[doc = concat!("The lazily loaded route of [`", stringify!($page), "`].")]
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                navigation_started();
                $route
            }

            fn view(_this: Self) -> AnyView {
                preload_page_chunks();
                navigation_finished();
                $page().into_any()
            }
        }
    )*};
}

lazy_pages! {
    HomeRoute => HomePage,
    AboutRoute => AboutPage,
    SignInRoute => SignInPage,
    SignUpRoute => SignUpPage,
    VerifyEmailRoute => VerifyEmailPage,
    DevMailboxRoute => DevMailboxPage,
    SessionsRoute => SessionsPage,
    ChangePasswordRoute => ChangePasswordPage,
    ProfileRoute => ProfilePage,
    MfaRoute => MfaPage,
    DataRoute => DataPage,
    AdminDashboardRoute => AdminDashboardPage,
    AdminConsultationsRoute => AdminConsultationsPage,
    AdminPaymentsRoute => AdminPaymentsPage,
    AdminAuditRoute => AdminAuditPage,
    AdminUsersRoute => AdminUsersPage,
    AdminDoctorsRoute => AdminDoctorsPage,
    PracticeProfileRoute => PracticeProfilePage,
    AvailabilityRoute => AvailabilityPage,
    DoctorSearchRoute => DoctorSearchPage,
    DoctorRoute => DoctorPage,
    BookRoute => BookPage,
    MyConsultationsRoute => MyConsultationsPage,
    PayRoute => PayPage,
    RescheduleRoute => ReschedulePage,
    RoomRoute => RoomPage,
    MyPrescriptionsRoute => MyPrescriptionsPage,
    AgendaRoute => AgendaPage,
    ForgotPasswordRoute => ForgotPasswordPage,
    ResetPasswordRoute => ResetPasswordPage,
}

/// `<html data-hydrated="true">` means "interactive, and showing the page
/// asked for". A link to another page first fetches that page's chunk while
/// the old page stays on screen: `data()` runs as the navigation starts, so
/// the mark turns "false" until the new page is in place (tests wait for it,
/// and so may styles). Before the first hydration there is no mark to touch.
fn navigation_started() {
    #[cfg(feature = "hydrate")]
    swap_hydrated_mark("true", "false");
}

/// The page's chunk is here and its view is being made: the mark turns
/// "true" again once the router has put it in the document (a zero timeout
/// runs after the microtasks that swap the views).
fn navigation_finished() {
    #[cfg(feature = "hydrate")]
    set_timeout(|| swap_hydrated_mark("false", "true"), std::time::Duration::ZERO);
}

#[cfg(feature = "hydrate")]
fn swap_hydrated_mark(from: &str, to: &str) {
    if let Some(root) = document().document_element() {
        if root.get_attribute("data-hydrated").as_deref() == Some(from) {
            let _ = root.set_attribute("data-hydrated", to);
        }
    }
}

/// On the server, while the page renders: `<link rel="preload">` in the head
/// for each WebAssembly chunk of the page (and `modulepreload` for the chunk
/// loader), so the browser fetches them alongside the main module instead of
/// after it. Leptos 0.8 means to add these itself (`from_app` in
/// leptos_integration_utils), but it looks up the split manifest outside any
/// reactive owner, finds none, and adds nothing; here the route's owner can
/// see both the manifest (provided by `HydrationScripts`) and the lazy
/// functions this request has called (the view's own, called just now).
/// A build without `--split` has no manifest: nothing is added.
fn preload_page_chunks() {
    #[cfg(feature = "ssr")]
    {
        use leptos_meta::Link;
        use std::collections::BTreeSet;

        let (Some(called), Some(manifest)) =
            (use_context::<leptos::PrefetchLazyFn>(), use_context::<leptos::WasmSplitManifest>())
        else {
            return;
        };
        let Some(called) = called.0.try_get_value() else { return };
        // The page's chunk files, and the loader script that fetches them.
        let Some((chunks, loader)) = manifest.0.try_with_value(|(pkg, chunks_of, loader)| {
            let chunks: BTreeSet<String> = called
                .iter()
                .filter_map(|split| chunks_of.get(*split))
                .flatten()
                .map(|chunk| format!("{pkg}/{chunk}.wasm"))
                .collect();
            (chunks, format!("{pkg}/{loader}"))
        }) else {
            return;
        };
        if chunks.is_empty() {
            return;
        }
        // to_html() on a leptos_meta component registers it for the head.
        for href in chunks {
            let _ =
                view! { <Link rel="preload" href=href as_="fetch" type_="application/wasm" crossorigin="anonymous"/> }
                    .to_html();
        }
        let _ = view! { <Link rel="modulepreload" href=loader crossorigin="anonymous"/> }.to_html();
    }
}
