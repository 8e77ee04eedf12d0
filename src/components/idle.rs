//! Automatic logoff, as the person sees it: a warning a minute before the
//! session ends for inactivity, a "Stay signed in" button, and then the
//! sign-in page with an explanation. The server enforces the limit itself;
//! activity here pings it (at most once a minute) so both agree.

use leptos::prelude::*;

/// Seconds of the last stretch in which the warning shows.
pub const WARNING_SECS: i64 = 60;

/// The client's own deadline: a little before the server's, because the
/// server notes activity at most once a minute.
pub fn client_deadline_secs(server_timeout_secs: u32) -> i64 {
    let t = server_timeout_secs as i64;
    (t - 120).max(t / 2)
}

#[component]
pub fn IdleWatch(timeout_secs: u32) -> impl IntoView {
    let remaining = RwSignal::new(None::<i64>);
    let unsaved = RwSignal::new(false);
    let keepalive = Action::new_local(|_: &()| async {
        let _ = crate::api::auth::me().await;
    });
    let stay = NodeRef::<leptos::html::Button>::new();

    #[cfg(not(feature = "hydrate"))]
    let _ = timeout_secs;
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use std::cell::Cell;
        use std::rc::Rc;
        let deadline = client_deadline_secs(timeout_secs) as f64;
        let last_activity = Rc::new(Cell::new(js_sys::Date::now()));
        let last_ping = Rc::new(Cell::new(js_sys::Date::now()));
        let on_activity = {
            let (last_activity, last_ping) = (last_activity.clone(), last_ping.clone());
            move || {
                let now = js_sys::Date::now();
                last_activity.set(now);
                if remaining.get_untracked().is_some() {
                    remaining.set(None);
                }
                if now - last_ping.get() > 60_000.0 {
                    last_ping.set(now);
                    keepalive.dispatch(());
                }
            }
        };
        for event in ["keydown", "pointerdown", "input", "wheel", "touchstart"] {
            let on_activity = on_activity.clone();
            let _ = window_event_listener_untyped(event, move |_| on_activity());
        }
        let _ = set_interval_with_handle(
            move || {
                let left = deadline - (js_sys::Date::now() - last_activity.get()) / 1000.0;
                if left <= 0.0 {
                    let _ = window().location().set_href("/sign-in?reason=idle");
                } else if left <= WARNING_SECS as f64 {
                    if remaining.get_untracked().is_none() {
                        unsaved.set(has_unsaved_input());
                    }
                    remaining.set(Some(left.ceil() as i64));
                }
            },
            std::time::Duration::from_secs(1),
        );
    });

    // Move focus to the button when the warning appears.
    Effect::new(move |was_shown: Option<bool>| {
        let shown = remaining.get().is_some();
        if shown && was_shown != Some(true) {
            if let Some(button) = stay.get() {
                let _ = button.focus();
            }
        }
        shown
    });

    view! {
        <Show when=move || remaining.get().is_some()>
            <div class="idle-warning alert info stack" role="alertdialog" aria-labelledby="idle-title" aria-describedby="idle-text">
                <h2 id="idle-title">"Are you still there?"</h2>
                <p id="idle-text">
                    "To protect your health information you will be signed out in "
                    {move || remaining.get().unwrap_or(0)}
                    " seconds."
                    {move || unsaved.get().then_some(" A form on this page has changes you have not sent: they will be lost.")}
                </p>
                <button
                    type="button"
                    class="button"
                    node_ref=stay
                    on:click=move |_| {
                        remaining.set(None);
                        keepalive.dispatch(());
                    }
                >
                    "Stay signed in"
                </button>
            </div>
        </Show>
    }
}

/// Whether any visible field on the page holds something not yet sent.
#[cfg(feature = "hydrate")]
fn has_unsaved_input() -> bool {
    use wasm_bindgen::JsCast;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return false };
    let Ok(fields) = document.query_selector_all("main input, main textarea") else { return false };
    (0..fields.length()).filter_map(|i| fields.item(i)).any(|node| {
        if let Some(input) = node.dyn_ref::<web_sys::HtmlInputElement>() {
            let kind = input.type_();
            !matches!(kind.as_str(), "hidden" | "submit" | "button" | "radio" | "checkbox")
                && input.value() != input.default_value()
        } else if let Some(area) = node.dyn_ref::<web_sys::HtmlTextAreaElement>() {
            area.default_value().is_ok_and(|initial| area.value() != initial)
        } else {
            false
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_gives_up_two_minutes_before_the_server() {
        assert_eq!(client_deadline_secs(15 * 60), 13 * 60);
        assert_eq!(client_deadline_secs(60), 30, "short limits keep half");
    }
}
