//! The frame of every page: skip link, header with navigation, main, footer.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::auth::{me, ResendVerification, SignOut, SignedInUser};
use crate::components::idle::IdleWatch;
use crate::domain::Role;
use crate::error::AppError;
use crate::pages::public::error::ErrorPage;

/// Who is signed in, loaded once per page for the header and the banner.
pub type MeResource = Resource<Result<Option<SignedInUser>, AppError>>;

/// Set when two-step verification was turned on during this page's life
/// (`me` still says what it said when the page loaded).
#[derive(Debug, Clone, Copy)]
pub struct MfaEnrolledNow(pub RwSignal<bool>);

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let me: MeResource = Resource::new(|| (), |_| me());
    provide_context(me);
    provide_context(MfaEnrolledNow(RwSignal::new(false)));
    view! {
        <a class="skip-link" href="#main">"Skip to main content"</a>
        <SiteHeader/>
        <main id="main" class="site-main" tabindex="-1">
            <VerifyEmailBanner/>
            <SessionWatch/>
            <AdminMfaGate/>
            <ErrorBoundary fallback=|errors| view! { <ErrorPage errors/> }>{children()}</ErrorBoundary>
        </main>
        <SiteFooter/>
    }
}

/// Brand and navigation. On small screens the navigation folds behind a
/// "Menu" button (Escape or following a link folds it again).
#[component]
fn SiteHeader() -> impl IntoView {
    let open = RwSignal::new(false);
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" && open.get_untracked() {
            open.set(false);
        }
    };
    view! {
        <header class="site-header" on:keydown=on_keydown>
            <div class="container">
                <a class="brand" href="/">"Telehealth"</a>
                <button
                    type="button"
                    class="nav-toggle"
                    aria-controls="site-nav"
                    aria-expanded=move || open.get().to_string()
                    on:click=move |_| open.update(|o| *o = !*o)
                >
                    "Menu"
                </button>
                <nav id="site-nav" class="site-nav" class:open=move || open.get() aria-label="Main">
                    <ul on:click=move |_| open.set(false)>
                        <li><A href="/" exact=true>"Home"</A></li>
                        <li><A href="/doctors">"Find a doctor"</A></li>
                        <li><A href="/about">"About"</A></li>
                        <AccountLinks/>
                    </ul>
                </nav>
            </div>
        </header>
    }
}

/// "Sign in / Create account", or the signed-in person and "Sign out".
#[component]
fn AccountLinks() -> impl IntoView {
    let me = expect_context::<MeResource>();
    let sign_out = ServerAction::<SignOut>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = sign_out.value().get() {
            #[cfg(feature = "hydrate")]
            let _ = window().location().set_href("/");
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(user)) => view! {
                        <li><A href="/account/profile">"Profile"</A></li>
                        <li><A href="/account/sessions">"Sessions"</A></li>
                        <li><A href="/account/mfa">"Security"</A></li>
                        {(user.role == Role::Patient).then(|| view! {
                            <li><A href="/consultations">"My consultations"</A></li>
                        })}
                        {(user.role == Role::Doctor).then(|| view! {
                            <li><A href="/doctor/schedule">"Schedule"</A></li>
                            <li><A href="/doctor/profile">"Practice"</A></li>
                            <li><A href="/doctor/availability">"Availability"</A></li>
                        })}
                        {(user.role == Role::Admin).then(|| view! {
                            <li><A href="/admin">"Dashboard"</A></li>
                            <li><A href="/admin/payments">"Payments"</A></li>
                            <li><A href="/admin/audit">"Audit"</A></li>
                            <li><A href="/admin/users">"Users"</A></li>
                            <li><A href="/admin/doctors">"Verify doctors"</A></li>
                        })}
                        <li class="account">
                            <span class="muted">{user.first_name}</span>
                            <ActionForm action=sign_out attr:class="inline">
                                <button type="submit" class="button ghost">"Sign out"</button>
                            </ActionForm>
                        </li>
                    }
                    .into_any(),
                    _ => view! {
                        <li><A href="/sign-in">"Sign in"</A></li>
                        <li><A href="/sign-up">"Create account"</A></li>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}

/// Watches a signed-in person's inactivity (automatic logoff).
#[component]
fn SessionWatch() -> impl IntoView {
    let me = expect_context::<MeResource>();
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(user)) => view! { <IdleWatch timeout_secs=user.idle_timeout_secs/> }.into_any(),
                    _ => ().into_any(),
                }
            })}
        </Transition>
    }
}

/// Sends an administrator without two-step verification to set it up
/// before anything else (the server refuses their administration anyway).
#[component]
fn AdminMfaGate() -> impl IntoView {
    let me = expect_context::<MeResource>();
    let enrolled_now = expect_context::<MfaEnrolledNow>().0;
    let location = leptos_router::hooks::use_location();
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        let must_enrol =
            matches!(me.get(), Some(Ok(Some(ref u))) if u.role == Role::Admin && !u.mfa_enabled) && !enrolled_now.get();
        if must_enrol && location.pathname.get() != "/account/mfa" {
            navigate("/account/mfa", Default::default());
        }
    });
}

/// Reminds a signed-in person with an unconfirmed address, with a resend button.
#[component]
fn VerifyEmailBanner() -> impl IntoView {
    let me = expect_context::<MeResource>();
    let resend = ServerAction::<ResendVerification>::new();
    let feedback = move || match resend.value().get() {
        Some(Ok(())) => Some("We sent a new link. Check your inbox.".to_string()),
        Some(Err(e)) => Some(e.to_string()),
        None => None,
    };
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(user)) if !user.is_email_verified => view! {
                        <div class="alert info stack">
                            <p>"Please confirm your email address with the link we sent you. Until then you cannot book."</p>
                            <ActionForm action=resend attr:class="inline">
                                <button type="submit" class="button secondary">"Send a new link"</button>
                            </ActionForm>
                            <p role="status">{feedback}</p>
                        </div>
                    }
                    .into_any(),
                    _ => ().into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn SiteFooter() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <div class="container">
                <p>"Telehealth is open-source software. In an emergency, call your local emergency number."</p>
                <ul>
                    <li><a href="/about">"About Telehealth"</a></li>
                </ul>
            </div>
        </footer>
    }
}
