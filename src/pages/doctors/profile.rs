use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use super::search::{
    encode_query_value, experience_text, follow_browser_timezone, rating_text, ConsultationTypes, TimezonePicker,
};
use crate::api::doctors::{doctor_details, DaySlots, DoctorCard, DoctorPageView, ReviewCard};
use crate::error::AppError;
use crate::pages::public::set_status;

/// A doctor's page: who they are, every bookable time of the next two weeks
/// by day, in the viewer's timezone, and the latest reviews.
#[component]
pub fn DoctorPage() -> impl IntoView {
    let params = use_params_map();
    let query = leptos_router::hooks::use_query_map();
    // The browser's timezone, once it turns out to differ from what the server chose.
    let browser_tz = RwSignal::new(None::<String>);
    let details = Resource::new(
        // A zone chosen on the page (`?tz=`) wins over the browser's.
        move || {
            let chosen = query.read().get("tz").filter(|z| !z.trim().is_empty());
            (params.read().get("id").unwrap_or_default(), chosen.or_else(|| browser_tz.get()))
        },
        |(id, tz)| async move {
            match Uuid::parse_str(id.trim()) {
                Ok(id) => doctor_details(id, tz).await,
                Err(_) => Err(AppError::NotFound),
            }
        },
    );
    follow_browser_timezone(browser_tz, move || details.get().and_then(Result::ok).map(|view| view.timezone));

    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match details.await {
                    Ok(view) => view! { <DoctorDetails view/> }.into_any(),
                    Err(AppError::NotFound) => {
                        set_status(404);
                        view! {
                            <Title text="Doctor not found"/>
                            <section class="error-page">
                                <p class="error-code" aria-hidden="true">"404"</p>
                                <h1>"Doctor not found"</h1>
                                <p>"This doctor is not taking bookings on Telehealth, or the link is mistyped."</p>
                                <a class="button" href="/doctors">"Find a doctor"</a>
                            </section>
                        }
                        .into_any()
                    }
                    Err(e) => {
                        set_status(e.status_code());
                        view! {
                            <Title text="Doctor"/>
                            <section class="stack narrow">
                                <h1>"Doctor"</h1>
                                <p class="alert error" role="alert">{e.to_string()}</p>
                                <p><a href="/doctors">"Back to the search"</a></p>
                            </section>
                        }
                        .into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn DoctorDetails(view: DoctorPageView) -> impl IntoView {
    let DoctorPageView { doctor, days, timezone, reviews, review_count } = view;
    let id = doctor.id;
    let name = doctor.name.clone();
    view! {
        <Title text=name/>
        <article class="stack doctor-page">
            <DoctorProfile doctor review_count/>
            <section class="stack" aria-labelledby="times-heading">
                <h2 id="times-heading">"Available times"</h2>
                <TimezonePicker current=timezone action=format!("/doctors/{id}") keep=Vec::new()/>
                {if days.is_empty() {
                    view! { <p>"No times in the next two weeks."</p> }.into_any()
                } else {
                    view! {
                        <div class="day-list">
                            {days
                                .into_iter()
                                .enumerate()
                                .map(|(index, day)| view! { <Day day index doctor=id/> })
                                .collect_view()}
                        </div>
                    }
                    .into_any()
                }}
            </section>
            <Reviews reviews/>
            <p><a href="/doctors">"Back to the search"</a></p>
        </article>
    }
}

/// Who the doctor is: the card at the top of their page.
#[component]
fn DoctorProfile(doctor: DoctorCard, review_count: i32) -> impl IntoView {
    let minutes = doctor.slot_minutes;
    view! {
        <div class="card doctor-profile">
            <h1>{doctor.name}</h1>
            <p class="doctor-specialization">{doctor.specialization}</p>
            {(!doctor.qualification.is_empty()).then(|| view! { <p>{doctor.qualification}</p> })}
            <dl class="doctor-facts">
                {experience_text(doctor.experience_years).map(|e| view! { <div><dt>"Experience"</dt><dd>{e}</dd></div> })}
                <div><dt>"Languages"</dt><dd>{doctor.languages.join(", ")}</dd></div>
                <div>
                    <dt>"Fee"</dt>
                    <dd>{format!("{} per consultation of {minutes} minutes", doctor.fee)}</dd>
                </div>
                <div><dt>"Rating"</dt><dd>{rating_with_count(&doctor.rating, review_count)}</dd></div>
                <div><dt>"Consultations completed"</dt><dd>{doctor.total_consultations}</dd></div>
            </dl>
            <ConsultationTypes types=doctor.consultation_types/>
            {(!doctor.bio.is_empty()).then(|| view! { <p class="doctor-bio">{doctor.bio}</p> })}
        </div>
    }
}

/// One day's times, each a link to book it.
#[component]
fn Day(day: DaySlots, index: usize, doctor: Uuid) -> impl IntoView {
    let heading_id = format!("day-{index}");
    view! {
        <section class="day-slots" aria-labelledby=heading_id.clone()>
            <h3 id=heading_id.clone()>{day.day}</h3>
            <ul class="slot-list" aria-labelledby=heading_id.clone()>
                {day
                    .slots
                    .into_iter()
                    .map(|slot| {
                        let href = format!("/book?doctor={doctor}&start={}", encode_query_value(&slot.starts_at));
                        let name = format!("Book {}", slot.label);
                        view! {
                            <li>
                                <a class="slot-link" href=href aria-label=name>{slot.time}</a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}

/// "4.8 ★ from 3 reviews"; just the rating before any review is counted.
fn rating_with_count(rating: &Option<String>, review_count: i32) -> String {
    let rating = rating_text(rating);
    match review_count {
        n if n <= 0 => rating,
        1 => format!("{rating} from 1 review"),
        n => format!("{rating} from {n} reviews"),
    }
}

/// "★★★★☆" for 4 (of 5).
fn stars(rating: u8) -> String {
    let full = rating.min(5) as usize;
    format!("{}{}", "★".repeat(full), "☆".repeat(5 - full))
}

/// The latest reviews: stars, comment, the patient's first name and the date.
#[component]
fn Reviews(reviews: Vec<ReviewCard>) -> impl IntoView {
    view! {
        <section class="stack reviews" aria-labelledby="reviews-heading">
            <h2 id="reviews-heading">"Reviews"</h2>
            {if reviews.is_empty() {
                view! { <p>"No reviews yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="review-list" aria-labelledby="reviews-heading">
                        {reviews
                            .into_iter()
                            .map(|review| {
                                let label = format!("{} out of 5", review.rating.min(5));
                                view! {
                                    <li class="review-item stack">
                                        <p class="review-stars">
                                            <span role="img" aria-label=label>{stars(review.rating)}</span>
                                        </p>
                                        {review.comment.map(|c| view! { <p class="review-comment">{c}</p> })}
                                        <p class="review-meta">
                                            {review.first_name}
                                            " · "
                                            <time datetime=review.datetime>{review.date}</time>
                                        </p>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_fill_from_the_left() {
        assert_eq!(stars(4), "★★★★☆");
        assert_eq!(stars(1), "★☆☆☆☆");
        assert_eq!(stars(5), "★★★★★");
    }

    #[test]
    fn the_rating_names_how_many_reviews_it_comes_from() {
        assert_eq!(rating_with_count(&None, 0), "New");
        assert_eq!(rating_with_count(&Some("4.3".into()), 1), "4.3 ★ from 1 review");
        assert_eq!(rating_with_count(&Some("4.3".into()), 3), "4.3 ★ from 3 reviews");
        assert_eq!(rating_with_count(&Some("4.8".into()), 0), "4.8 ★");
    }
}
