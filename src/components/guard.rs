//! Route guards: pages that need a signed-in person render a sign-in prompt
//! (and answer 401) for anyone else. The server functions check again.

use leptos::prelude::*;

use crate::components::layout::MeResource;
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
                        _ => {
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
                    }
                })
            }}
        </Suspense>
    }
}
