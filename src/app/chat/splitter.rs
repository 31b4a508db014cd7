//! The handle between the sidebar and the conversation: drag it, or focus it and use the arrow
//! keys (Home and End for the narrowest and widest), to make the sidebar narrower or wider;
//! a double click puts it back. The width is remembered in this browser (`localStorage`), the
//! way a window splitter's is (WAI-ARIA "window splitter": a focusable `separator` with a
//! value). On a phone there is one column and no handle.
//!
//! A component: depends on nothing of the chat. The page passes its layout element, on which
//! the handle sets `--sidebar-width` (through the CSS object model, which the Content Security
//! Policy allows, where a rendered `style` attribute would be refused).

use leptos::{ev, prelude::*};

/// The sidebar's width when nobody has moved the handle, in CSS pixels (17rem).
const DEFAULT_WIDTH: i32 = 272;
/// The narrowest sidebar: its buttons and names still fit.
const MIN_WIDTH: i32 = 224;
/// The widest sidebar, and never more than this share of the window.
const MAX_WIDTH: i32 = 480;
const MAX_SHARE: f64 = 0.5;
/// How far one arrow key moves the handle.
const KEY_STEP: i32 = 16;
/// Where this browser keeps the width.
#[cfg(feature = "hydrate")]
const STORAGE_KEY: &str = "switchboard.sidebar-width";

/// `width` kept inside the bounds, for a window `window_width` wide.
fn clamp(width: i32, window_width: f64) -> i32 {
    // The share bound is a float of a window width: rounding it is exact enough.
    #[allow(clippy::cast_possible_truncation)]
    let share = (window_width * MAX_SHARE) as i32;
    width.clamp(MIN_WIDTH, MAX_WIDTH.min(share).max(MIN_WIDTH))
}

/// The window's inner width (a wide default where there is no window, as while rendering on
/// the server).
fn window_width() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        window()
            .inner_width()
            .ok()
            .and_then(|w| w.as_f64())
            .unwrap_or(1366.0)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        1366.0
    }
}

/// The width remembered in this browser, if any.
fn saved() -> Option<i32> {
    #[cfg(feature = "hydrate")]
    {
        let storage = window().local_storage().ok()??;
        storage.get_item(STORAGE_KEY).ok()??.parse().ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// Remembers `width` in this browser (a browser that refuses storage forgets it on reload).
fn save(width: i32) {
    #[cfg(feature = "hydrate")]
    if let Ok(Some(storage)) = window().local_storage() {
        let _ = storage.set_item(STORAGE_KEY, &width.to_string());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = width;
}

/// The handle; `layout` is the element whose `--sidebar-width` it sets.
#[component]
pub fn Splitter(
    /// The element whose `--sidebar-width` the handle sets.
    layout: NodeRef<leptos::html::Div>,
) -> impl IntoView {
    let width = RwSignal::new(DEFAULT_WIDTH);
    // Once in the browser: the remembered width (the server rendered the default).
    Effect::new(move |_| {
        if let Some(w) = saved() {
            width.set(clamp(w, window_width()));
        }
    });
    Effect::new(move |_| {
        let w = width.get();
        if let Some(el) = layout.get() {
            let style = leptos::web_sys::HtmlElement::style(&el);
            let _ = style.set_property("--sidebar-width", &format!("{w}px"));
        }
    });
    let dragging = StoredValue::new(None::<(i32, i32)>);
    let set = move |w: i32| {
        let w = clamp(w, window_width());
        width.set(w);
        save(w);
    };
    let on_down = move |e: ev::PointerEvent| {
        if e.button() != 0 {
            return;
        }
        e.prevent_default();
        if let Some(target) = e.current_target() {
            use leptos::wasm_bindgen::JsCast;
            if let Ok(el) = target.dyn_into::<leptos::web_sys::Element>() {
                let _ = el.set_pointer_capture(e.pointer_id());
            }
        }
        dragging.set_value(Some((e.client_x(), width.get_untracked())));
    };
    let on_move = move |e: ev::PointerEvent| {
        if let Some((x0, w0)) = dragging.get_value() {
            width.set(clamp(w0 + e.client_x() - x0, window_width()));
        }
    };
    let on_up = move |_: ev::PointerEvent| {
        if dragging.get_value().is_some() {
            dragging.set_value(None);
            save(width.get_untracked());
        }
    };
    let on_key = move |e: ev::KeyboardEvent| {
        let now = width.get_untracked();
        let next = match e.key().as_str() {
            "ArrowLeft" => now - KEY_STEP,
            "ArrowRight" => now + KEY_STEP,
            "Home" => MIN_WIDTH,
            "End" => MAX_WIDTH,
            _ => return,
        };
        e.prevent_default();
        set(next);
    };
    view! {
        <div
            class="splitter"
            role="separator"
            tabindex="0"
            aria-label="Resize the sidebar"
            aria-orientation="vertical"
            aria-controls="sidebar"
            aria-valuemin=MIN_WIDTH
            aria-valuemax=MAX_WIDTH
            aria-valuenow=move || width.get()
            on:pointerdown=on_down
            on:pointermove=on_move
            on:pointerup=on_up
            on:pointercancel=on_up
            on:keydown=on_key
            on:dblclick=move |_| set(DEFAULT_WIDTH)
        ></div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_width_stays_between_the_bounds_and_under_half_the_window() {
        assert_eq!(clamp(100, 1366.0), MIN_WIDTH);
        assert_eq!(clamp(300, 1366.0), 300);
        assert_eq!(clamp(900, 1920.0), MAX_WIDTH);
        // 800 px wide: at most 400.
        assert_eq!(clamp(460, 800.0), 400);
        // Narrower than twice the minimum: the minimum still.
        assert_eq!(clamp(300, 400.0), MIN_WIDTH);
    }
}
