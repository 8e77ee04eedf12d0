use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::platform::platform_stats;
use crate::components::browser::viewer_timezone;

/// The front door: what Telehealth is, live figures, and the viewer's timezone.
#[component]
pub fn HomePage() -> impl IntoView {
    let stats = Resource::new(|| (), |_| platform_stats());
    // Filled in by the browser after hydration; the server cannot know it.
    let timezone = RwSignal::new(None::<String>);
    Effect::new(move |_| timezone.set(viewer_timezone()));

    view! {
        <Title text="See a verified doctor from home"/>
        <section class="hero">
            <h1>"See a verified doctor from home"</h1>
            <p class="lead">
                "Find a licensed doctor, book a time that suits you, and meet by video, audio or chat. "
                "Your notes and prescriptions stay private between you and your doctor."
            </p>
            <div class="actions cluster">
                <a class="button" href="/about">"How Telehealth works"</a>
            </div>
        </section>
        <section aria-labelledby="figures-heading" class="stack">
            <h2 id="figures-heading" class="visually-hidden">"Telehealth in figures"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading figures…"</p> }>
                {move || Suspend::new(async move {
                    match stats.await {
                        Ok(s) => view! {
                            <dl class="stats">
                                <div class="stat">
                                    <dt class="stat-label">"verified doctors"</dt>
                                    <dd class="stat-value">{s.verified_doctors}</dd>
                                </div>
                                <div class="stat">
                                    <dt class="stat-label">"specialties"</dt>
                                    <dd class="stat-value">{s.specialties}</dd>
                                </div>
                            </dl>
                        }
                        .into_any(),
                        Err(e) => crate::pages::public::load_failed(e),
                    }
                })}
            </Suspense>
            // Two lines kept for it: the zone's name arrives after hydration and must not move the page.
            <p data-testid="viewer-timezone" class="muted timezone-note">
                "Appointment times are shown in "
                {move || timezone.get().unwrap_or_else(|| "your local timezone".to_string())}
                "."
            </p>
        </section>
    }
}
