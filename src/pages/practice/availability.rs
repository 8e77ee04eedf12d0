use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::doctors::{
    my_availability, AddAvailabilityWindow, AddTimeOff, AvailabilityView, ListedItem, RemoveAvailabilityWindow,
    RemoveTimeOff,
};
use crate::components::form::{messages_for, FormAlert, Outcome, SelectField, TextField};
use crate::components::guard::RequireRole;
use crate::domain::Role;

/// The doctor's availability: weekly hours, one-off dates, time off, and a
/// preview of the next two weeks as patients will see them.
#[component]
pub fn AvailabilityPage() -> impl IntoView {
    view! {
        <Title text="Your availability"/>
        <RequireRole role=Role::Doctor>
            <AvailabilityEditor/>
        </RequireRole>
    }
}

/// The actions of the page and their outcomes, owned by the page itself.
#[derive(Clone, Copy)]
struct Acts {
    add_window: ServerAction<AddAvailabilityWindow>,
    add_date: ServerAction<AddAvailabilityWindow>,
    remove_window: ServerAction<RemoveAvailabilityWindow>,
    add_off: ServerAction<AddTimeOff>,
    remove_off: ServerAction<RemoveTimeOff>,
    weekly: Outcome<uuid::Uuid>,
    dated: Outcome<uuid::Uuid>,
    removed: Outcome<()>,
    off: Outcome<uuid::Uuid>,
}

#[component]
fn AvailabilityEditor() -> impl IntoView {
    let add_window = ServerAction::<AddAvailabilityWindow>::new();
    let add_date = ServerAction::<AddAvailabilityWindow>::new();
    let remove_window = ServerAction::<RemoveAvailabilityWindow>::new();
    let add_off = ServerAction::<AddTimeOff>::new();
    let remove_off = ServerAction::<RemoveTimeOff>::new();
    let acts = Acts {
        add_window,
        add_date,
        remove_window,
        add_off,
        remove_off,
        weekly: Signal::derive(move || add_window.value().get()),
        dated: Signal::derive(move || add_date.value().get()),
        removed: Signal::derive(move || match (remove_window.value().get(), remove_off.value().get()) {
            (Some(Err(e)), _) | (_, Some(Err(e))) => Some(Err(e)),
            (Some(Ok(())), _) | (_, Some(Ok(()))) => Some(Ok(())),
            _ => None,
        }),
        off: Signal::derive(move || add_off.value().get()),
    };
    let availability = Resource::new(|| (), |_| my_availability());
    Effect::new(move |_| {
        let ok = matches!(add_window.value().get(), Some(Ok(_)))
            || matches!(add_date.value().get(), Some(Ok(_)))
            || matches!(remove_window.value().get(), Some(Ok(())))
            || matches!(add_off.value().get(), Some(Ok(_)))
            || matches!(remove_off.value().get(), Some(Ok(())));
        if ok {
            availability.refetch();
        }
    });
    view! {
        <section class="stack">
            <h1>"Your availability"</h1>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match availability.await {
                        Ok(a) => view! { <Editor a acts/> }.into_any(),
                        Err(e) => view! {
                            <p class="alert error" role="alert">{e.to_string()}</p>
                            <p><a href="/doctor/profile">"Complete your professional profile"</a></p>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

#[component]
fn Editor(a: AvailabilityView, acts: Acts) -> impl IntoView {
    let days: Vec<(String, String)> = (1..7).chain([0]).map(|d| (d.to_string(), DAYS[d].to_string())).collect();
    let zone = a.timezone.clone();
    let one_off_zone = zone.clone();
    view! {
        {(!a.is_available).then(|| view! {
            <p class="alert info">"New bookings are paused (see your " <a href="/doctor/profile">"profile"</a> ")."</p>
        })}
        <p>"Times are in your timezone, " <strong>{a.timezone.clone()}</strong> ", unless a window says otherwise."</p>
        <FormAlert outcome=acts.removed/>
        <div class="grid-2">
            <div class="stack">
                <h2>"Weekly hours and extra dates"</h2>
                <Items items=a.windows empty="No hours yet: add your first below." what="hours" remove=ItemRemover::Window(acts.remove_window)/>
                <h3>"Add weekly hours"</h3>
                <ActionForm action=acts.add_window attr:class="stack" attr:novalidate=true>
                    <FormAlert outcome=acts.weekly/>
                    <input type="hidden" name="window[kind]" value="weekly"/>
                    <SelectField name="day_of_week" form_name="window[day_of_week]" label="Day" options=days
                        selected="1" errors=messages_for(acts.weekly, "day_of_week")/>
                    <div class="cluster">
                        <TextField name="start_time" form_name="window[start_time]" label="From" kind="time" value="09:00"
                            errors=messages_for(acts.weekly, "start_time")/>
                        <TextField name="end_time" form_name="window[end_time]" label="To" kind="time" value="12:00"
                            errors=messages_for(acts.weekly, "end_time")/>
                    </div>
                    <TextField name="timezone" form_name="window[timezone]" label="Timezone" value=zone
                        errors=messages_for(acts.weekly, "timezone")/>
                    <div class="cluster">
                        <TextField name="valid_from" form_name="window[valid_from]" label="Starting (optional)" kind="date"
                            required=false errors=messages_for(acts.weekly, "valid_from")/>
                        <TextField name="valid_until" form_name="window[valid_until]" label="Until (optional)" kind="date"
                            required=false errors=messages_for(acts.weekly, "valid_until")/>
                    </div>
                    <button type="submit" class="button" disabled=move || acts.add_window.pending().get()>"Add weekly hours"</button>
                </ActionForm>
                <h3>"Add hours on one date"</h3>
                <OneOffForm acts zone=one_off_zone/>
                <h2>"Time off"</h2>
                <Items items=a.time_off empty="No time off planned." what="time off" remove=ItemRemover::TimeOff(acts.remove_off)/>
                <TimeOffForm acts/>
            </div>
            <div class="stack">
                <h2>"Next two weeks, as patients see them"</h2>
                {if a.preview.is_empty() {
                    view! { <p class="muted">"No bookable times in the next two weeks."</p> }.into_any()
                } else {
                    view! {
                        <ul class="stack preview" aria-label="Bookable times in the next two weeks">
                            {a.preview.into_iter().map(|day| view! {
                                <li>
                                    <strong>{day.day.clone()}</strong>
                                    <span class="muted">{format!(" · {} times: ", day.slots.len())}</span>
                                    {day.slots.iter().map(|s| s.time.clone()).collect::<Vec<_>>().join(", ")}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </div>
        </div>
    }
}

#[derive(Clone, Copy)]
enum ItemRemover {
    Window(ServerAction<RemoveAvailabilityWindow>),
    TimeOff(ServerAction<RemoveTimeOff>),
}

/// A list of windows or time off, each with a Remove button.
#[component]
fn Items(items: Vec<ListedItem>, empty: &'static str, what: &'static str, remove: ItemRemover) -> impl IntoView {
    if items.is_empty() {
        return view! { <p class="muted">{empty}</p> }.into_any();
    }
    view! {
        <ul class="stack" aria-label=format!("Your {what}")>
            {items.into_iter().map(|item| {
                let label = format!("Remove {}", item.label);
                let button = view! { <button type="submit" class="button ghost" aria-label=label>"Remove"</button> };
                let form = match remove {
                    ItemRemover::Window(action) => view! {
                        <ActionForm action=action attr:class="inline">
                            <input type="hidden" name="id" value=item.id.to_string()/>
                            {button}
                        </ActionForm>
                    }.into_any(),
                    ItemRemover::TimeOff(action) => view! {
                        <ActionForm action=action attr:class="inline">
                            <input type="hidden" name="id" value=item.id.to_string()/>
                            {button}
                        </ActionForm>
                    }.into_any(),
                };
                view! { <li class="cluster"><span>{item.label.clone()}</span>{form}</li> }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn OneOffForm(acts: Acts, zone: String) -> impl IntoView {
    // Its own action, and field names unlike the weekly form's (unique ids on the page).
    let dated = acts.dated;
    view! {
        <ActionForm action=acts.add_date attr:class="stack" attr:novalidate=true>
            <FormAlert outcome=dated/>
            <input type="hidden" name="window[kind]" value="date"/>
            <TextField name="date" form_name="window[date]" label="Date" kind="date" errors=messages_for(dated, "date")/>
            <div class="cluster">
                <TextField name="one_off_start" form_name="window[start_time]" label="From" kind="time" value="09:00"
                    errors=messages_for(dated, "start_time")/>
                <TextField name="one_off_end" form_name="window[end_time]" label="To" kind="time" value="12:00"
                    errors=messages_for(dated, "end_time")/>
            </div>
            <TextField name="one_off_timezone" form_name="window[timezone]" label="Timezone" value=zone
                errors=messages_for(dated, "timezone")/>
            <button type="submit" class="button secondary" disabled=move || acts.add_date.pending().get()>
                "Add hours on this date"
            </button>
        </ActionForm>
    }
}

#[component]
fn TimeOffForm(acts: Acts) -> impl IntoView {
    let off = acts.off;
    view! {
        <ActionForm action=acts.add_off attr:class="stack" attr:novalidate=true>
            <FormAlert outcome=off/>
            <div class="cluster">
                <TextField name="first_date" form_name="time_off[first_date]" label="First day off" kind="date"
                    errors=messages_for(off, "first_date")/>
                <TextField name="last_date" form_name="time_off[last_date]" label="Last day off" kind="date" required=false
                    hint="Leave empty for one day." errors=messages_for(off, "last_date")/>
            </div>
            <div class="cluster">
                <TextField name="off_start" form_name="time_off[start_time]" label="From (optional)" kind="time" required=false
                    errors=messages_for(off, "start_time")/>
                <TextField name="off_end" form_name="time_off[end_time]" label="To (optional)" kind="time" required=false
                    errors=messages_for(off, "end_time")/>
            </div>
            <p class="hint">"Without times, whole days are off."</p>
            <TextField name="note" form_name="time_off[note]" label="Note (only you see it)" required=false
                errors=messages_for(off, "note")/>
            <button type="submit" class="button secondary" disabled=move || acts.add_off.pending().get()>"Add time off"</button>
        </ActionForm>
    }
}
