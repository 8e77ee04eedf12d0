//! The document shell and the route table. Nothing else lives here.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::components::layout::Layout;
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
    about::AboutPage, dev_mailbox::DevMailboxPage, home::HomePage, not_found::NotFound, sign_in::SignInPage,
    sign_up::SignUpPage, verify_email::VerifyEmailPage,
};

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
                // Every page is rendered whole before it is sent (SsrMode::Async):
                // statuses from guards reach the browser, and no page depends on
                // out-of-order streaming, which once left a response unfinished
                // under the parallel test suite.
                <Routes fallback=NotFound>
                    <Route path=path!("") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/about") view=AboutPage ssr=SsrMode::Async/>
                    <Route path=path!("/sign-in") view=SignInPage ssr=SsrMode::Async/>
                    <Route path=path!("/sign-up") view=SignUpPage ssr=SsrMode::Async/>
                    <Route path=path!("/verify-email") view=VerifyEmailPage ssr=SsrMode::Async/>
                    <Route path=path!("/dev/mailbox") view=DevMailboxPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/sessions") view=SessionsPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/password") view=ChangePasswordPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/profile") view=ProfilePage ssr=SsrMode::Async/>
                    <Route path=path!("/account/mfa") view=MfaPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/data") view=DataPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view=AdminDashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/consultations") view=AdminConsultationsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/payments") view=AdminPaymentsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/audit") view=AdminAuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users") view=AdminUsersPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/doctors") view=AdminDoctorsPage ssr=SsrMode::Async/>
                    <Route path=path!("/doctor/profile") view=PracticeProfilePage ssr=SsrMode::Async/>
                    <Route path=path!("/doctor/availability") view=AvailabilityPage ssr=SsrMode::Async/>
                    <Route path=path!("/doctors") view=DoctorSearchPage ssr=SsrMode::Async/>
                    <Route path=path!("/doctors/:id") view=DoctorPage ssr=SsrMode::Async/>
                    <Route path=path!("/book") view=BookPage ssr=SsrMode::Async/>
                    <Route path=path!("/consultations") view=MyConsultationsPage ssr=SsrMode::Async/>
                    <Route path=path!("/consultations/:id/pay") view=PayPage ssr=SsrMode::Async/>
                    <Route path=path!("/consultations/:id/move") view=ReschedulePage ssr=SsrMode::Async/>
                    <Route path=path!("/consultations/:id/room") view=RoomPage ssr=SsrMode::Async/>
                    <Route path=path!("/prescriptions") view=MyPrescriptionsPage ssr=SsrMode::Async/>
                    <Route path=path!("/doctor/schedule") view=AgendaPage ssr=SsrMode::Async/>
                    <Route path=path!("/forgot-password") view=ForgotPasswordPage ssr=SsrMode::Async/>
                    <Route path=path!("/reset-password") view=ResetPasswordPage ssr=SsrMode::Async/>
                </Routes>
            </Layout>
        </Router>
    }
}
