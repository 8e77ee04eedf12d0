use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::auth::dev_mailbox;

/// Development only: the messages the app "sent" (links are clickable).
#[component]
pub fn DevMailboxPage() -> impl IntoView {
    let to = move || use_query_map().read().get("to");
    let mails = Resource::new(to, dev_mailbox);
    view! {
        <Title text="Development mailbox"/>
        <section class="stack">
            <h1>"Development mailbox"</h1>
            <p class="muted">"Messages sent by this development server. Production sends real email instead."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match mails.await {
                        Ok(list) if list.is_empty() => view! { <p>"No messages yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="stack">
                                {list.into_iter().map(|m| view! {
                                    <li class="card stack">
                                        <h2>{m.subject}</h2>
                                        <p class="muted">"To " {m.to} " · " {m.sent_at}</p>
                                        <MailBody body=m.body/>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => {
                            // 404 outside development, like any page that does not exist.
                            super::set_status(e.status_code());
                            view! { <p class="alert error" role="alert">{e.to_string()}</p> }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The plain-text body, with its http(s) lines as links.
#[component]
fn MailBody(body: String) -> impl IntoView {
    body.lines()
        .map(|line| {
            let line = line.to_owned();
            if line.starts_with("http://") || line.starts_with("https://") {
                let href = line.clone();
                view! { <p><a href=href>{line}</a></p> }.into_any()
            } else {
                view! { <p>{line}</p> }.into_any()
            }
        })
        .collect_view()
}
