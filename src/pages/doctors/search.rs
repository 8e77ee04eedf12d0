use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

use crate::api::doctors::{search_doctors, DoctorCard, SearchPage, SlotView};
use crate::components::browser::viewer_timezone;
use crate::components::layout::MeResource;
use crate::domain::doctor::{CURRENCIES, LANGUAGES, SPECIALIZATIONS};
use crate::error::AppError;

/// A search as its URL says it: an empty string for each filter left at "Any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Criteria {
    specialization: String,
    name: String,
    language: String,
    consultation_type: String,
    fee_min: String,
    fee_max: String,
    currency: String,
    min_rating: String,
    available: String,
    date: String,
    sort: String,
    page: Option<u32>,
    /// A timezone named in the URL (`tz=`), if any.
    tz: Option<String>,
}

impl Criteria {
    fn from_query(query: &ParamsMap) -> Self {
        let text = |key: &str| query.get(key).unwrap_or_default();
        Criteria {
            specialization: text("specialization"),
            name: text("name"),
            language: text("language"),
            consultation_type: text("consultation_type"),
            fee_min: text("fee_min"),
            fee_max: text("fee_max"),
            currency: text("currency"),
            min_rating: text("min_rating"),
            available: text("available"),
            date: text("date"),
            sort: text("sort"),
            page: query.get_str("page").and_then(|p| p.trim().parse().ok()),
            tz: given(&text("tz")),
        }
    }

    /// The filters, as query parameters (without the page and the timezone).
    fn filters(&self) -> Vec<(&'static str, String)> {
        vec![
            ("specialization", self.specialization.clone()),
            ("name", self.name.clone()),
            ("language", self.language.clone()),
            ("consultation_type", self.consultation_type.clone()),
            ("fee_min", self.fee_min.clone()),
            ("fee_max", self.fee_max.clone()),
            ("currency", self.currency.clone()),
            ("min_rating", self.min_rating.clone()),
            ("available", self.available.clone()),
            ("date", self.date.clone()),
            ("sort", self.sort.clone()),
        ]
    }

    /// The URL of another page of the same search (filters left at "Any" are left out).
    fn page_href(&self, page: u32) -> String {
        let page = page.to_string();
        let pairs = [
            ("specialization", self.specialization.as_str()),
            ("name", &self.name),
            ("language", &self.language),
            ("consultation_type", &self.consultation_type),
            ("fee_min", &self.fee_min),
            ("fee_max", &self.fee_max),
            ("currency", &self.currency),
            ("min_rating", &self.min_rating),
            ("available", &self.available),
            ("date", &self.date),
            ("sort", &self.sort),
            ("tz", self.tz.as_deref().unwrap_or_default()),
            ("page", &page),
        ];
        let query: Vec<String> = pairs
            .iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(key, value)| format!("{key}={}", encode_query_value(value)))
            .collect();
        format!("/doctors?{}", query.join("&"))
    }
}

/// A filter's value for the server function: None when left at "Any".
fn given(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// Percent-encodes a query-string value (space as `+`, as forms send it).
pub(super) fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Shows times in the browser's timezone to someone who is not signed in.
///
/// The server renders times in the signed-in person's own timezone, else in
/// the one the `th_tz` cookie remembers, else in UTC. On a first visit (no
/// cookie yet) that is UTC: once hydrated, and only then (so the first render
/// matches the server's), this asks again with `tz=<the browser's zone>`.
/// `shown` is the timezone of what the page shows now, once it is loaded.
pub(super) fn follow_browser_timezone(
    browser_tz: RwSignal<Option<String>>,
    shown: impl Fn() -> Option<String> + Send + Sync + 'static,
) {
    let me = use_context::<MeResource>();
    Effect::new(move |_| {
        let Some(browser) = viewer_timezone() else { return };
        let anonymous = me.is_some_and(|me| matches!(me.get(), Some(Ok(None))));
        if !anonymous || browser_tz.get_untracked().is_some() {
            return;
        }
        if shown().is_some_and(|zone| zone != browser) {
            browser_tz.set(Some(browser));
        }
    });
}

/// "No rating yet" reads as "New"; a rating reads "4.8 ★".
pub(super) fn rating_text(rating: &Option<String>) -> String {
    rating.as_ref().map_or_else(|| "New".to_owned(), |r| format!("{r} ★"))
}

/// "12 years", or nothing when the doctor did not say.
pub(super) fn experience_text(years: Option<i32>) -> Option<String> {
    years.map(|y| match y {
        0 => "Less than a year".to_owned(),
        1 => "1 year".to_owned(),
        y => format!("{y} years"),
    })
}

/// "video" reads as "Video".
fn consultation_type_label(kind: &str) -> String {
    match kind {
        "video" => "Video".to_owned(),
        "audio" => "Audio".to_owned(),
        "chat" => "Chat".to_owned(),
        other => other.to_owned(),
    }
}

/// Find a doctor: filters in the URL (so a shared link shows the same
/// search, rendered on the server), results as cards with their next times.
#[component]
pub fn DoctorSearchPage() -> impl IntoView {
    let query = use_query_map();
    // The browser's timezone, once it turns out to differ from what the server chose.
    let browser_tz = RwSignal::new(None::<String>);
    let results = Resource::new(
        move || {
            let mut criteria = Criteria::from_query(&query.read());
            // A zone chosen on the page wins over the browser's.
            if criteria.tz.is_none() {
                criteria.tz = browser_tz.get();
            }
            criteria
        },
        |c| {
            search_doctors(
                given(&c.specialization),
                given(&c.name),
                given(&c.language),
                given(&c.currency),
                given(&c.fee_min),
                given(&c.fee_max),
                given(&c.min_rating),
                given(&c.consultation_type),
                given(&c.available),
                given(&c.date),
                given(&c.sort),
                c.page,
                c.tz,
            )
        },
    );
    follow_browser_timezone(browser_tz, move || results.get().and_then(Result::ok).map(|page| page.timezone));

    view! {
        <Title text="Find a doctor"/>
        <section class="stack doctor-search">
            <h1>"Find a doctor"</h1>
            <Form method="GET" action="/doctors" attr:class="search-form" attr:role="search" attr:aria-label="Doctor search">
                // The fields are drawn again with each answer: a refused filter is marked next to its field.
                <Transition fallback=move || {
                    view! { <SearchFields criteria=Criteria::from_query(&query.read_untracked()) error=None/> }
                }>
                    {move || Suspend::new(async move {
                        let error = results.await.err();
                        view! { <SearchFields criteria=Criteria::from_query(&query.read_untracked()) error/> }
                    })}
                </Transition>
                <div class="search-actions">
                    <button type="submit" class="button">"Search"</button>
                </div>
            </Form>
            <section class="stack doctor-results" aria-labelledby="results-heading">
                <h2 id="results-heading">"Results"</h2>
                <Transition fallback=|| view! { <p class="muted">"Looking for doctors…"</p> }>
                    {move || Suspend::new(async move {
                        match results.await {
                            Ok(page) => {
                                let criteria = Criteria::from_query(&query.read_untracked());
                                view! { <Results page criteria/> }.into_any()
                            }
                            Err(e) => crate::pages::public::load_failed(e),
                        }
                    })}
                </Transition>
            </section>
        </section>
    }
}

/// The messages for one filter, if the server refused it.
fn problem(error: &Option<AppError>, field: &str) -> Option<String> {
    error.as_ref().map(|e| e.field_messages(field).join(" ")).filter(|m| !m.is_empty())
}

fn options(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(value, text)| ((*value).to_owned(), (*text).to_owned())).collect()
}

/// Every filter, filled in from the URL.
#[component]
fn SearchFields(criteria: Criteria, error: Option<AppError>) -> impl IntoView {
    let any = || (String::new(), "Any".to_owned());
    let specializations: Vec<(String, String)> =
        std::iter::once(any()).chain(SPECIALIZATIONS.iter().map(|s| ((*s).to_owned(), (*s).to_owned()))).collect();
    let languages: Vec<(String, String)> = std::iter::once(any())
        .chain(LANGUAGES.iter().map(|(tag, name)| ((*tag).to_owned(), (*name).to_owned())))
        .collect();
    let currencies: Vec<(String, String)> = std::iter::once(any())
        .chain(CURRENCIES.iter().map(|(code, _)| ((*code).to_owned(), (*code).to_owned())))
        .collect();
    view! {
        <div class="search-fields">
            <SelectField name="specialization" label="Specialization" options=specializations
                current=criteria.specialization error=problem(&error, "specialization")/>
            <InputField name="name" label="Name" kind="text" current=criteria.name error=problem(&error, "name")/>
            <SelectField name="language" label="Language" options=languages
                current=criteria.language error=problem(&error, "language")/>
            <SelectField name="consultation_type" label="Consultation type"
                options=options(&[("", "Any"), ("video", "Video"), ("audio", "Audio"), ("chat", "Chat")])
                current=criteria.consultation_type error=problem(&error, "consultation_type")/>
            <InputField name="fee_min" label="Fee from" kind="number" current=criteria.fee_min
                error=problem(&error, "fee_min")/>
            <InputField name="fee_max" label="Fee to" kind="number" current=criteria.fee_max
                error=problem(&error, "fee_max")/>
            <SelectField name="currency" label="Currency" options=currencies hint="Needed for a fee range."
                current=criteria.currency error=problem(&error, "currency")/>
            <SelectField name="min_rating" label="Minimum rating"
                options=options(&[("", "Any"), ("3", "3 or more"), ("3.5", "3.5 or more"), ("4", "4 or more"), ("4.5", "4.5 or more")])
                current=criteria.min_rating error=problem(&error, "min_rating")/>
            <SelectField name="available" label="Available"
                options=options(&[("", "Any time"), ("week", "In the next 7 days"), ("date", "On a date")])
                current=criteria.available error=problem(&error, "available")/>
            <InputField name="date" label="Date" kind="date" hint="When Available is “On a date”."
                current=criteria.date error=problem(&error, "date")/>
            <SelectField name="sort" label="Sort"
                options=options(&[("", "Soonest available"), ("rating", "Highest rated"), ("fee_low", "Lowest fee"), ("fee_high", "Highest fee")])
                current=criteria.sort error=problem(&error, "sort")/>
        </div>
    }
}

/// The ids a control's `aria-describedby` names: its hint, then its error.
fn described_by(hint_id: Option<&str>, error_id: Option<&str>) -> Option<String> {
    let ids: Vec<&str> = hint_id.into_iter().chain(error_id).collect();
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// A labelled select whose option from the URL is selected ("Any" when none matches).
#[component]
fn SelectField(
    name: &'static str,
    label: &'static str,
    options: Vec<(String, String)>,
    current: String,
    error: Option<String>,
    #[prop(optional)] hint: Option<&'static str>,
) -> impl IntoView {
    let id = format!("search-{name}");
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described = described_by(hint.map(|_| hint_id.as_str()), error.as_ref().map(|_| error_id.as_str()));
    let current = current.trim().to_owned();
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            <select
                id=id
                name=name
                aria-invalid=error.is_some().then_some("true")
                aria-describedby=described
            >
                {options
                    .into_iter()
                    .map(|(value, text)| {
                        let selected = value == current;
                        view! { <option value=value selected=selected>{text}</option> }
                    })
                    .collect_view()}
            </select>
            {error.map(|m| view! { <p class="field-error" id=error_id.clone()>{m}</p> })}
        </div>
    }
}

/// A labelled text, number or date input, filled in from the URL.
#[component]
fn InputField(
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    current: String,
    error: Option<String>,
    #[prop(optional)] hint: Option<&'static str>,
) -> impl IntoView {
    let id = format!("search-{name}");
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described = described_by(hint.map(|_| hint_id.as_str()), error.as_ref().map(|_| error_id.as_str()));
    let number = kind == "number";
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            <input
                id=id
                name=name
                type=kind
                value=current
                min=number.then_some("0")
                step=number.then_some("any")
                inputmode=number.then_some("decimal")
                autocomplete="off"
                aria-invalid=error.is_some().then_some("true")
                aria-describedby=described
            />
            {error.map(|m| view! { <p class="field-error" id=error_id.clone()>{m}</p> })}
        </div>
    }
}

/// How many matched, the timezone of the times, the cards, and the pages.
#[component]
fn Results(page: SearchPage, criteria: Criteria) -> impl IntoView {
    let count = match page.total {
        0 => "No doctors match your search.".to_owned(),
        1 => "1 doctor matches your search.".to_owned(),
        n => format!("{n} doctors match your search."),
    };
    let pager = (page.pages > 1).then(|| {
        let previous = (page.page > 1).then(|| criteria.page_href(page.page - 1));
        let next = (page.page < page.pages).then(|| criteria.page_href(page.page + 1));
        view! {
            <nav class="pager" aria-label="Result pages">
                {previous.map(|href| view! { <a class="button secondary" href=href rel="prev">"Previous"</a> })}
                <p class="pager-position">{format!("Page {} of {}", page.page, page.pages)}</p>
                {next.map(|href| view! { <a class="button secondary" href=href rel="next">"Next"</a> })}
            </nav>
        }
    });
    let empty = page.doctors.is_empty();
    view! {
        <p class="result-count">{count}</p>
        <TimezonePicker current=page.timezone.clone() action="/doctors".to_owned() keep=criteria.filters()/>
        {if empty {
            view! { <p>"Try fewer filters, or another day."</p> }.into_any()
        } else {
            view! {
                <ul class="grid-cards doctor-list" aria-labelledby="results-heading">
                    {page.doctors.into_iter().map(|doctor| view! { <DoctorResult doctor/> }).collect_view()}
                </ul>
            }
            .into_any()
        }}
        {pager}
    }
}

/// One doctor in the results: their page is one link away.
#[component]
fn DoctorResult(doctor: DoctorCard) -> impl IntoView {
    let href = format!("/doctors/{}", doctor.id);
    view! {
        <li class="card doctor-card">
            <h3><a href=href>{doctor.name}</a></h3>
            <p class="doctor-specialization">{doctor.specialization}</p>
            <dl class="doctor-facts">
                {experience_text(doctor.experience_years).map(|e| view! { <div><dt>"Experience"</dt><dd>{e}</dd></div> })}
                <div><dt>"Languages"</dt><dd>{doctor.languages.join(", ")}</dd></div>
                <div><dt>"Fee"</dt><dd>{doctor.fee}</dd></div>
                <div><dt>"Rating"</dt><dd>{rating_text(&doctor.rating)}</dd></div>
            </dl>
            <ConsultationTypes types=doctor.consultation_types/>
            <NextTimes slots=doctor.next_slots/>
        </li>
    }
}

/// Video, audio, chat: as badges.
#[component]
pub(super) fn ConsultationTypes(types: Vec<String>) -> impl IntoView {
    view! {
        <ul class="badge-list" aria-label="Consultation types">
            {types.iter().map(|t| view! { <li class="badge">{consultation_type_label(t)}</li> }).collect_view()}
        </ul>
    }
}

/// Up to three next times, or that there are none soon.
#[component]
fn NextTimes(slots: Vec<SlotView>) -> impl IntoView {
    if slots.is_empty() {
        return view! { <p class="muted next-times">"No times in the next two weeks"</p> }.into_any();
    }
    view! {
        <div class="next-times">
            <p class="next-times-label">"Next available:"</p>
            <ul class="time-list">
                {slots.into_iter().take(3).map(|s| view! { <li>{s.label}</li> }).collect_view()}
            </ul>
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_link_keeps_the_filters_and_leaves_out_the_empty_ones() {
        let query: ParamsMap =
            [("specialization", "Family Medicine"), ("name", ""), ("currency", "GBP"), ("page", "1")]
                .into_iter()
                .collect();
        let href = Criteria::from_query(&query).page_href(2);
        assert_eq!(href, "/doctors?specialization=Family+Medicine&currency=GBP&page=2");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_query_value("Otolaryngology (ENT)"), "Otolaryngology+%28ENT%29");
        assert_eq!(encode_query_value("2025-12-07T09:30:00Z"), "2025-12-07T09%3A30%3A00Z");
    }

    #[test]
    fn ratings_and_experience_read_naturally() {
        assert_eq!(rating_text(&None), "New");
        assert_eq!(rating_text(&Some("4.8".into())), "4.8 ★");
        assert_eq!(experience_text(Some(1)).as_deref(), Some("1 year"));
        assert_eq!(experience_text(Some(12)).as_deref(), Some("12 years"));
        assert_eq!(experience_text(None), None);
    }
}

/// "Times are in X", and a way to choose another zone: a GET form that keeps
/// the page's other parameters.
#[component]
pub(super) fn TimezonePicker(current: String, action: String, keep: Vec<(&'static str, String)>) -> impl IntoView {
    use crate::domain::timezone::COMMON_ZONES;
    view! {
        <Form method="GET" action=action attr:class="cluster timezone-picker">
            {keep
                .into_iter()
                .filter(|(_, value)| !value.trim().is_empty())
                .map(|(name, value)| view! { <input type="hidden" name=name value=value/> })
                .collect_view()}
            <p class="muted">{format!("Times are in {current}.")}</p>
            <div class="field">
                <label for="tz-choice">"Show times in"</label>
                <input id="tz-choice" name="tz" list="tz-options" value=current autocomplete="off"/>
                <datalist id="tz-options">
                    {COMMON_ZONES.iter().map(|z| view! { <option value=*z></option> }).collect_view()}
                </datalist>
            </div>
            <button type="submit" class="button secondary">"Change timezone"</button>
        </Form>
    }
}
