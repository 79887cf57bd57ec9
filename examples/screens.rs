//! Prints the dashboard's key screens, drawn from sample data, for a person to look at:
//! `cargo run --example screens` (wide, the smallest, a middle size, and a finished run).

use pubduel::testkit::samples::{dashboard, dashboard_ui, screen};

fn main() {
    let mut finished = dashboard_ui();
    finished.finished = true;
    for (w, h, ui) in [
        (160, 48, dashboard_ui()),
        (80, 24, dashboard_ui()),
        (120, 40, dashboard_ui()),
        (160, 48, finished),
    ] {
        println!("{w}x{h}:\n{}\n", screen(w, h, &dashboard(), &ui));
    }
}
