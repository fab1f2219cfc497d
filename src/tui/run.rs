//! The loop: keys (read on a thread of their own), ticks, data and the
//! source's end arrive on one channel; the screen is redrawn after a key at
//! once, after data at most twice a second, and every second as time
//! moves the rates.

use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio_util::sync::CancellationToken;

use super::{Action, App, draw::draw, log};

/// What reaches the loop.
#[derive(Debug)]
pub enum Msg {
    /// A key, a resize.
    Input(Event),
    /// A quarter of a second passed.
    Tick,
    /// New occurrences are in the model.
    Data,
    /// The source ended: all input read (`None`), or failed: what it
    /// says and its exit code.
    Source(Option<(String, u8)>),
}

/// Restores the terminal when dropped: on return, on error and while
/// unwinding (ratatui's panic hook restores it before the message too).
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

const REDRAW_DATA: Duration = Duration::from_millis(500);
const REDRAW_TIME: Duration = Duration::from_secs(1);

/// Run the view until `q`, Ctrl-C, `stop` (SIGTERM, SIGINT), or a usage
/// error of the source. `tx` is the sender of `rx`, for the key reader and
/// the ticks; `done_note` is what the status bar says when the source has
/// read everything (a replay).
pub async fn run(
    mut app: App,
    tx: UnboundedSender<Msg>,
    mut rx: UnboundedReceiver<Msg>,
    stop: CancellationToken,
    done_note: &str,
) -> std::io::Result<()> {
    let mut terminal = ratatui::try_init()?;
    let _restore = Restore;
    spawn_keys(tx.clone());
    let ticks = tx.clone();
    let ticker = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_millis(250));
        loop {
            every.tick().await;
            if ticks.send(Msg::Tick).is_err() {
                break;
            }
        }
    });
    drop(tx);
    let mut last_draw = Instant::now();
    let mut last_log = None;
    app.refresh(true);
    terminal.draw(|f| draw(&app, f))?;
    loop {
        let msg = tokio::select! {
            m = rx.recv() => m,
            _ = stop.cancelled() => None,
        };
        let Some(msg) = msg else { break };
        let redraw = match msg {
            Msg::Input(Event::Key(k)) => match app.on_key(k) {
                Action::Quit => break,
                Action::Redraw => true,
                Action::None => false,
            },
            Msg::Input(Event::Resize(..)) => true,
            Msg::Input(_) => false,
            Msg::Data => {
                if last_draw.elapsed() >= REDRAW_DATA && app.shared().take_dirty() {
                    app.refresh(false);
                    true
                } else {
                    false
                }
            }
            Msg::Tick => {
                let dirty = last_draw.elapsed() >= REDRAW_DATA && app.shared().take_dirty();
                let logged = log::last_line();
                let new_log = logged.is_some() && logged != last_log;
                if new_log {
                    let text = crate::escape::escape(logged.as_deref().unwrap_or("")).into_owned();
                    // A replay's bad line or unreadable input is `kev: …`.
                    let error = text.starts_with("ERROR")
                        || text.starts_with("WARN")
                        || text.starts_with("kev: ");
                    app.notice = Some((text, error));
                    last_log = logged;
                }
                if dirty || new_log || last_draw.elapsed() >= REDRAW_TIME {
                    app.refresh(false);
                    true
                } else {
                    false
                }
            }
            Msg::Source(result) => {
                match result {
                    None => app.notice = Some((done_note.to_string(), false)),
                    // A usage error (a --for kind the cluster does not
                    // have): nothing to look at, say it on the terminal.
                    Some((_, crate::exit::USAGE)) => break,
                    Some((text, _)) => {
                        app.notice = Some((
                            crate::escape::escape(&format!("error: {text} (q quits)")).into_owned(),
                            true,
                        ));
                    }
                }
                app.refresh(false);
                true
            }
        };
        if redraw {
            terminal.draw(|f| draw(&app, f))?;
            last_draw = Instant::now();
        }
    }
    ticker.abort();
    Ok(())
}

/// Read keys on a thread (crossterm's reads block), until the loop is gone.
fn spawn_keys(tx: UnboundedSender<Msg>) {
    std::thread::spawn(move || {
        loop {
            match event::poll(Duration::from_millis(200)) {
                Ok(true) => match event::read() {
                    Ok(ev) => {
                        if tx.send(Msg::Input(ev)).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                },
                Ok(false) => {
                    if tx.is_closed() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    });
}
