use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::mfa::{mfa_status, MfaBegin, MfaConfirm, MfaDisable, MfaOverview, MfaRenewCodes};
use crate::components::form::{messages_for, FormAlert, Outcome, TextField};
use crate::components::guard::RequireUser;
use crate::components::layout::MfaEnrolledNow;

/// Two-step verification: set it up (QR code or key, then a code), keep the
/// recovery codes, renew them, or turn it off.
#[component]
pub fn MfaPage() -> impl IntoView {
    view! {
        <Title text="Two-step verification"/>
        <RequireUser>
            <MfaPanel/>
        </RequireUser>
    }
}

#[component]
fn MfaPanel() -> impl IntoView {
    let confirm = ServerAction::<MfaConfirm>::new();
    let disable = ServerAction::<MfaDisable>::new();
    let renew = ServerAction::<MfaRenewCodes>::new();
    let status = Resource::new(|| (), |_| mfa_status());
    // The outcomes live here, not in the forms: a form is replaced when its
    // action succeeds, and its fields must not read a signal that went with it.
    let outcomes = Outcomes {
        confirmed: Signal::derive(move || confirm.value().get()),
        renewed: Signal::derive(move || renew.value().get()),
        disabled: Signal::derive(move || disable.value().get()),
    };
    // Shown once MFA is on: the recovery codes. Set by an effect, that is after
    // the form has shown its own outcome, so the form is not torn down mid-update.
    let new_codes = RwSignal::new(None::<Vec<String>>);
    // The administrators' gate reads this rather than `me`: refetching `me`
    // would re-render this whole page (it is inside `RequireUser`) and lose the codes.
    let enrolled = expect_context::<MfaEnrolledNow>();
    Effect::new(move |_| {
        if let Some(Ok(codes)) = confirm.value().get() {
            new_codes.set(Some(codes));
            enrolled.0.set(true);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = disable.value().get() {
            status.refetch();
        }
    });
    view! {
        <section class="stack narrow">
            <h1>"Two-step verification"</h1>
            <p>
                "With two-step verification, signing in needs your password and a code from an authenticator app "
                "on your phone (such as Google Authenticator, Microsoft Authenticator, 1Password or Aegis)."
            </p>
            <Show
                when=move || new_codes.with(Option::is_some)
                fallback=move || view! {
                    <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                        {move || Suspend::new(async move {
                            match status.await {
                                Ok(overview) if overview.enabled => view! { <Enabled overview renew disable outcomes/> }.into_any(),
                                Ok(overview) => view! { <Enrol overview confirm outcomes/> }.into_any(),
                                Err(e) => crate::pages::public::load_failed(e),
                            }
                        })}
                    </Transition>
                }
            >
                <p class="alert success" role="status">"Two-step verification is on."</p>
                {move || new_codes.get().map(|codes| view! { <RecoveryCodes codes/> })}
                <p><a class="button" href="/">"Done"</a></p>
            </Show>
        </section>
    }
}

#[derive(Clone, Copy)]
struct Outcomes {
    confirmed: Outcome<Vec<String>>,
    renewed: Outcome<Vec<String>>,
    disabled: Outcome<()>,
}

/// Not on yet: start, scan or type the key, confirm with a code.
#[component]
fn Enrol(overview: MfaOverview, confirm: ServerAction<MfaConfirm>, outcomes: Outcomes) -> impl IntoView {
    let begin = ServerAction::<MfaBegin>::new();
    let confirmed = outcomes.confirmed;
    let begun = move || begin.value().get();
    view! {
        {overview.required.then(|| view! {
            <p class="alert info" role="status">
                "As an administrator you must turn on two-step verification before you can do anything else."
            </p>
        })}
        <p>"Two-step verification is " <strong>"off"</strong> "."</p>
        <Show
            when=move || matches!(begun(), Some(Ok(_)))
            fallback=move || view! {
                <ActionForm action=begin attr:class="stack">
                    {move || match begun() {
                        Some(Err(e)) => Some(view! { <p class="alert error" role="alert">{e.to_string()}</p> }),
                        _ => None,
                    }}
                    <button type="submit" class="button" disabled=move || begin.pending().get()>
                        "Set up two-step verification"
                    </button>
                </ActionForm>
            }
        >
            {move || begun().and_then(Result::ok).map(|setup| view! {
                <ol class="stack">
                    <li class="stack">
                        <p>"Scan this QR code with your authenticator app:"</p>
                        <div class="qr" role="img" aria-label="QR code to add Telehealth to your authenticator app"
                            inner_html=setup.qr_svg></div>
                    </li>
                    <li class="stack">
                        <p>"Or, if you cannot scan it, type this key into the app (time-based, 6 digits):"</p>
                        <p><code class="secret-key" data-testid="manual-key">{setup.manual_key}</code></p>
                    </li>
                    <li>
                        <ActionForm action=confirm attr:class="stack" attr:novalidate=true>
                            <FormAlert outcome=confirmed/>
                            <TextField name="code" label="Enter the 6-digit code the app shows" autocomplete="one-time-code"
                                errors=messages_for(confirmed, "code")/>
                            <button type="submit" class="button" disabled=move || confirm.pending().get()>
                                "Turn on two-step verification"
                            </button>
                        </ActionForm>
                    </li>
                </ol>
            })}
        </Show>
    }
}

/// On: how many recovery codes are left, new ones, or turn it off.
#[component]
fn Enabled(
    overview: MfaOverview,
    renew: ServerAction<MfaRenewCodes>,
    disable: ServerAction<MfaDisable>,
    outcomes: Outcomes,
) -> impl IntoView {
    let Outcomes { renewed, disabled, .. } = outcomes;
    let left = overview.recovery_codes_left;
    view! {
        <p>
            "Two-step verification is " <strong>"on"</strong> ". "
            {format!("You have {left} unused recovery code{}.", if left == 1 { "" } else { "s" })}
        </p>
        {(left <= 3).then(|| view! {
            <p class="alert info">"You are running out of recovery codes: make new ones below."</p>
        })}
        <h2>"New recovery codes"</h2>
        {move || match renewed.get() {
            Some(Ok(codes)) => view! { <RecoveryCodes codes/> }.into_any(),
            _ => view! {
                <ActionForm action=renew attr:class="stack" attr:novalidate=true>
                    <p>"Your old recovery codes will stop working."</p>
                    <FormAlert outcome=renewed/>
                    <TextField name="renew_code" form_name="code" label="Code from your app" autocomplete="one-time-code"
                        errors=messages_for(renewed, "code")/>
                    <button type="submit" class="button secondary" disabled=move || renew.pending().get()>
                        "Make new recovery codes"
                    </button>
                </ActionForm>
            }.into_any(),
        }}
        <h2>"Turn off"</h2>
        {if overview.required {
            view! {
                <p>"Administrators must keep two-step verification on. If you lose your phone and your recovery "
                   "codes, another administrator can reset it."</p>
            }.into_any()
        } else {
            view! {
                <ActionForm action=disable attr:class="stack" attr:novalidate=true>
                    <FormAlert outcome=disabled/>
                    <TextField name="password" label="Your password" kind="password" autocomplete="current-password"
                        errors=messages_for(disabled, "password")/>
                    <TextField name="disable_code" form_name="code" label="Code from your app, or a recovery code"
                        autocomplete="one-time-code" errors=messages_for(disabled, "code")/>
                    <button type="submit" class="button danger" disabled=move || disable.pending().get()>
                        "Turn off two-step verification"
                    </button>
                </ActionForm>
            }.into_any()
        }}
    }
}

/// The recovery codes, shown this once, with a download.
#[component]
fn RecoveryCodes(codes: Vec<String>) -> impl IntoView {
    let text = format!(
        "Telehealth recovery codes\n\nEach code signs you in once, instead of a code from your app.\n\
         Keep them somewhere safe.\n\n{}\n",
        codes.join("\n")
    );
    let href = format!("data:text/plain;charset=utf-8,{}", percent_encode(&text));
    view! {
        <div class="card stack">
            <h2>"Your recovery codes"</h2>
            <p>
                "If you lose your phone, each of these codes signs you in once. "
                <strong>"They are shown only now:"</strong> " download or print them and keep them somewhere safe."
            </p>
            <ul class="recovery-codes" aria-label="Recovery codes">
                {codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}
            </ul>
            <p><a class="button secondary" href=href download="telehealth-recovery-codes.txt">"Download the codes"</a></p>
        </div>
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
