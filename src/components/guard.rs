//! Route guards: pages that need a signed-in person render a sign-in prompt
//! (and answer 401) for anyone else. The server functions check again.

use leptos::prelude::*;

use crate::components::layout::MeResource;
use crate::domain::Role;
use crate::pages::public::set_status;

#[component]
pub fn RequireUser(children: ChildrenFn) -> impl IntoView {
    let me = expect_context::<MeResource>();
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    match me.await {
                        Ok(Some(_)) => children().into_any(),
                        Err(e) => could_not_check(e),
                        Ok(None) => sign_in_prompt(),
                    }
                })
            }}
        </Suspense>
    }
}

/// Pages for administrators: anyone else gets 403 (or the sign-in prompt),
/// and an administrator without two-step verification is sent to set it up.
#[component]
pub fn RequireAdmin(children: ChildrenFn) -> impl IntoView {
    let me = expect_context::<MeResource>();
    let enrolled_now = expect_context::<crate::components::layout::MfaEnrolledNow>().0;
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    match me.await {
                        Ok(Some(user)) if user.role == Role::Admin && (user.mfa_enabled || enrolled_now.get_untracked()) => {
                            children().into_any()
                        }
                        Ok(Some(user)) if user.role == Role::Admin => {
                            set_status(403);
                            view! {
                                <section class="stack narrow">
                                    <h1>"Two-step verification needed"</h1>
                                    <p>"Administrators must turn on two-step verification first."</p>
                                    <p><a class="button" href="/account/mfa">"Set it up"</a></p>
                                </section>
                            }
                            .into_any()
                        }
                        Ok(Some(_)) => not_for_you("administrators"),
                        Err(e) => could_not_check(e),
                        Ok(None) => sign_in_prompt(),
                    }
                })
            }}
        </Suspense>
    }
}

/// Pages for one role (doctors' practice pages): anyone else gets 403, or
/// the sign-in prompt.
#[component]
pub fn RequireRole(role: Role, children: ChildrenFn) -> impl IntoView {
    let me = expect_context::<MeResource>();
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    match me.await {
                        Ok(Some(user)) if user.role == role => children().into_any(),
                        Ok(Some(_)) => not_for_you(if role == Role::Doctor { "doctors" } else { "patients" }),
                        Err(e) => could_not_check(e),
                        Ok(None) => sign_in_prompt(),
                    }
                })
            }}
        </Suspense>
    }
}

/// Who is asking could not be found out (the database is unreachable: 503):
/// say so, rather than asking someone who is signed in to sign in.
fn could_not_check(e: crate::error::AppError) -> AnyView {
    set_status(e.status_code());
    view! {
        <section class="stack narrow" role="alert">
            <h1>"Please try again in a moment"</h1>
            <p>{e.to_string()}</p>
        </section>
    }
    .into_any()
}

/// 401: the page needs a signed-in person.
fn sign_in_prompt() -> AnyView {
    set_status(401);
    view! {
        <section class="stack narrow">
            <h1>"Please sign in"</h1>
            <p>"You need to be signed in to see this page."</p>
            <p><a class="button" href="/sign-in">"Sign in"</a></p>
        </section>
    }
    .into_any()
}

/// 403: signed in, but the page is for someone else.
fn not_for_you(who: &'static str) -> AnyView {
    set_status(403);
    view! {
        <section class="stack narrow">
            <h1>"Not available"</h1>
            <p>{format!("This page is for {who}.")}</p>
            <p><a href="/">"Back to the home page"</a></p>
        </section>
    }
    .into_any()
}
