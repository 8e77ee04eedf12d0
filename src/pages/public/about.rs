use leptos::prelude::*;
use leptos_meta::Title;

/// What Telehealth is and the promises it keeps.
#[component]
pub fn AboutPage() -> impl IntoView {
    view! {
        <Title text="About"/>
        <article class="stack">
            <h1>"About Telehealth"</h1>
            <p class="lead">
                "Telehealth is an open-source telemedicine platform: patients find verified doctors, "
                "book from their availability in their own timezone, pay, meet in a private consultation room "
                "and receive prescriptions."
            </p>
            <h2>"How it works"</h2>
            <ol>
                <li>"Find a doctor by specialty, language, fee or the soonest free time."</li>
                <li>"Book a time shown in your own timezone; it is held for you while you pay."</li>
                <li>"Meet by video, audio or chat from the waiting room when your doctor is ready."</li>
                <li>"Read your diagnosis and prescriptions afterwards, and download or print them."</li>
            </ol>
            <h2>"Our promises"</h2>
            <ul>
                <li>"Every doctor's licence is checked by our team before they can be booked."</li>
                <li>"Only you and your doctor can open your consultation and its records."</li>
                <li>"Every access to health data is recorded in a tamper-evident audit trail."</li>
                <li>"Pages holding health data are never stored by your browser's cache or ours."</li>
            </ul>
        </article>
    }
}
