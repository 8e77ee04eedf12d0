use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::account::{my_sessions, RevokeSession};
use crate::api::auth::SignOutEverywhere;
use crate::components::guard::RequireUser;

/// Every device signed in to my account, each with a sign-out button.
#[component]
pub fn SessionsPage() -> impl IntoView {
    view! {
        <Title text="Your sessions"/>
        <RequireUser>
            <SessionList/>
        </RequireUser>
    }
}

#[component]
fn SessionList() -> impl IntoView {
    let revoke = ServerAction::<RevokeSession>::new();
    let everywhere = ServerAction::<SignOutEverywhere>::new();
    let sessions = Resource::new(move || revoke.version().get(), |_| my_sessions());
    Effect::new(move |_| {
        if let Some(Ok(_)) = everywhere.value().get() {
            #[cfg(feature = "hydrate")]
            let _ = window().location().set_href("/sign-in");
        }
    });
    view! {
        <section class="stack">
            <h1>"Your sessions"</h1>
            <p>
                "These devices are signed in to your account. Sign out any you do not recognise, then "
                <a href="/account/password">"change your password"</a> "."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Ok(list) => view! {
                            <ul class="stack" aria-label="Signed-in devices">
                                {list.into_iter().map(|s| {
                                    let label = format!("Sign out {} (signed in {})", s.device, s.started);
                                    view! {
                                        <li class="card stack">
                                            <p>
                                                <strong>{s.device.clone()}</strong>
                                                {s.current.then(|| view! { " " <span class="badge">"This device"</span> })}
                                            </p>
                                            <p class="muted">
                                                "Signed in " {s.started.clone()} " · last active " {s.last_active.clone()}
                                                {s.ip_address.clone().map(|ip| format!(" · from {ip}"))}
                                            </p>
                                            {(!s.current).then(|| view! {
                                                <ActionForm action=revoke attr:class="inline">
                                                    <input type="hidden" name="id" value=s.id.to_string()/>
                                                    <button type="submit" class="button secondary" aria-label=label.clone()>
                                                        "Sign out this device"
                                                    </button>
                                                </ActionForm>
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => crate::pages::public::load_failed(e),
                    }
                })}
            </Transition>
            <ActionForm action=everywhere>
                <button type="submit" class="button danger">"Sign out everywhere"</button>
            </ActionForm>
        </section>
    }
}
