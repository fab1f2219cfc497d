//! `kev top`'s full-screen view, on ratatui: the state is a plain struct
//! ([`App`]) changed by keys and by snapshots of the live model, drawn by a
//! pure [`draw::draw`]; keys, ticks and data arrive on one channel
//! ([`run`]); the terminal is restored by a guard on every exit path and by
//! ratatui's panic hook.
//!
//! Every piece of cluster text is escaped ([`crate::escape`]) before it is
//! put on screen.

pub mod draw;
pub mod log;
pub mod run;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::escape::escape;
use crate::filter::Filter;
use crate::incident::live::{SortBy, WINDOW_MINUTES};
use crate::output::humanize::age;
use crate::sink::live::Shared;

/// One group as drawn: every text escaped.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupRow {
    /// The group's index in the model (to open its events).
    pub index: usize,
    /// Occurrences.
    pub count: i64,
    /// Distinct involved objects.
    pub objects: usize,
    /// Occurrences per minute over 1, 5 and 15 minutes.
    pub rates: [f64; 3],
    /// Per minute over the last 15, oldest first.
    pub minutes: [i64; WINDOW_MINUTES as usize],
    /// A Warning group.
    pub warning: bool,
    /// The cluster (several contexts).
    pub cluster: String,
    /// Namespace.
    pub namespace: String,
    /// Type.
    pub type_: String,
    /// Reason.
    pub reason: String,
    /// Workload.
    pub workload: String,
    /// One message (the latest).
    pub message: String,
    /// Age of the latest occurrence.
    pub last_seen: String,
}

/// A snapshot of the model, as drawn.
#[derive(Clone, Debug, Default)]
pub struct View {
    /// The time the rates are measured at.
    pub now: Option<DateTime<Utc>>,
    /// Occurrences received from the source.
    pub received: u64,
    /// Occurrences in the groups (after the view filter).
    pub shown: i64,
    /// Groups in all.
    pub groups: usize,
    /// The first groups, in the chosen order (as many as the view needs).
    pub rows: Vec<GroupRow>,
}

/// One event of an opened group.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    /// Age of its last occurrence.
    pub last_seen: String,
    /// Type.
    pub type_: String,
    /// Reason.
    pub reason: String,
    /// `Kind/name`.
    pub object: String,
    /// Its count.
    pub count: i64,
    /// Its message.
    pub message: String,
}

/// What the screen shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    /// The ranked groups.
    Groups,
    /// The filter prompt over the groups (`/`).
    Prompt {
        /// What is typed so far.
        input: String,
        /// Why the last Enter was refused.
        error: Option<String>,
    },
    /// One group's events (Enter).
    Events {
        /// Its title line.
        title: String,
        /// Newest first.
        events: Vec<EventRow>,
        /// First row shown.
        scroll: usize,
    },
}

/// What a key asks of the loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing changed.
    None,
    /// Draw again.
    Redraw,
    /// Leave.
    Quit,
}

/// The state of the view.
#[derive(Debug)]
pub struct App {
    shared: Arc<Shared>,
    /// What is being read (cluster, namespace, files, the source filter).
    pub title: String,
    /// The order.
    pub sort: SortBy,
    /// Frozen: new events are counted but not shown until `p` again.
    pub paused: bool,
    /// The snapshot drawn.
    pub view: View,
    /// The selected row of the groups table.
    pub selected: usize,
    /// What is on screen.
    pub mode: Mode,
    /// The view filter applied (empty: none).
    pub filter: String,
    /// A line for the status bar: (text, is an error).
    pub notice: Option<(String, bool)>,
    /// How many groups a snapshot takes (grows as the selection goes down).
    limit: usize,
}

/// Groups taken per snapshot at first, and added as the selection nears
/// the end of them.
const PAGE: usize = 200;

/// Rate as shown: `0`, `2.5`, `12`.
pub fn rate(r: f64) -> String {
    if r == 0.0 {
        "0".to_string()
    } else if r < 10.0 {
        format!("{r:.1}")
    } else {
        format!("{r:.0}")
    }
}

impl App {
    /// A view of `shared`, titled `title`.
    pub fn new(shared: Arc<Shared>, title: String) -> App {
        let mut app = App {
            shared,
            title,
            sort: SortBy::Warnings,
            paused: false,
            view: View::default(),
            selected: 0,
            mode: Mode::Groups,
            filter: String::new(),
            notice: None,
            limit: PAGE,
        };
        app.refresh(true);
        app
    }

    /// The shared model.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Take a new snapshot of the model (unless paused; `force`: even then).
    pub fn refresh(&mut self, force: bool) {
        if self.paused && !force {
            return;
        }
        let live = self.shared.live.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.shared.clock.now(&live);
        let selected = self.view.rows.get(self.selected).map(|r| r.index);
        let (rows, groups) = live.rows(now, self.sort, self.limit);
        let rows: Vec<GroupRow> = rows
            .into_iter()
            .map(|r| {
                let g = r.group;
                let text = |s: Option<&str>| escape(s.unwrap_or("")).into_owned();
                GroupRow {
                    index: r.index,
                    count: g.count,
                    objects: g.objects,
                    rates: r.rates,
                    minutes: r.minutes,
                    warning: g.is_warning(),
                    cluster: text(g.key.cluster.as_deref()),
                    namespace: text(g.key.namespace.as_deref()),
                    type_: text(g.key.type_.as_deref()),
                    reason: text(g.key.reason.as_deref()),
                    workload: escape(&g.key.workload.to_string()).into_owned(),
                    message: escape(&g.example).into_owned(),
                    last_seen: age(g.last_seen, now),
                }
            })
            .collect();
        self.view = View {
            now: Some(now),
            received: live.received(),
            shown: live.total(),
            groups,
            rows,
        };
        drop(live);
        // The same group stays selected as the order changes.
        if let Some(index) = selected
            && let Some(at) = self.view.rows.iter().position(|r| r.index == index)
        {
            self.selected = at;
        }
        self.selected = self.selected.min(self.view.rows.len().saturating_sub(1));
    }

    /// Handle a key.
    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        if key.kind != KeyEventKind::Press {
            return Action::None;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Action::Quit;
        }
        match &mut self.mode {
            Mode::Prompt { input, error } => match key.code {
                KeyCode::Enter => {
                    let text = input.trim().to_string();
                    match self.apply_filter(&text) {
                        Ok(()) => self.mode = Mode::Groups,
                        Err(e) => {
                            if let Mode::Prompt { error, .. } = &mut self.mode {
                                *error = Some(e);
                            }
                        }
                    }
                    Action::Redraw
                }
                KeyCode::Esc => {
                    self.mode = Mode::Groups;
                    Action::Redraw
                }
                KeyCode::Backspace => {
                    input.pop();
                    *error = None;
                    Action::Redraw
                }
                KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    input.clear();
                    *error = None;
                    Action::Redraw
                }
                KeyCode::Char(c) => {
                    input.push(c);
                    *error = None;
                    Action::Redraw
                }
                _ => Action::None,
            },
            Mode::Events { events, scroll, .. } => match key.code {
                KeyCode::Char('q') => Action::Quit,
                KeyCode::Esc | KeyCode::Backspace | KeyCode::Left => {
                    self.mode = Mode::Groups;
                    self.refresh(false);
                    Action::Redraw
                }
                KeyCode::Down | KeyCode::Char('j') => {
                    *scroll = (*scroll + 1).min(events.len().saturating_sub(1));
                    Action::Redraw
                }
                KeyCode::Up | KeyCode::Char('k') => {
                    *scroll = scroll.saturating_sub(1);
                    Action::Redraw
                }
                _ => Action::None,
            },
            Mode::Groups => self.on_groups_key(key),
        }
    }

    fn on_groups_key(&mut self, key: KeyEvent) -> Action {
        // Moving down past what the snapshot holds takes more groups.
        let wants = match key.code {
            KeyCode::Down | KeyCode::Char('j') => self.selected + 2,
            KeyCode::PageDown => self.selected + 21,
            KeyCode::End | KeyCode::Char('G') => usize::MAX,
            _ => 0,
        };
        if wants > self.view.rows.len() && self.view.rows.len() < self.view.groups {
            self.limit = wants.saturating_add(PAGE).min(self.view.groups);
            self.refresh(true);
        }
        let last = self.view.rows.len().saturating_sub(1);
        match key.code {
            KeyCode::Char('q') => return Action::Quit,
            KeyCode::Char('/') => {
                self.mode = Mode::Prompt {
                    input: self.filter.clone(),
                    error: None,
                };
            }
            KeyCode::Char('p') => {
                self.paused = !self.paused;
                self.refresh(false);
            }
            KeyCode::Char('s') => {
                self.sort = self.sort.next();
                self.refresh(true);
            }
            KeyCode::Down | KeyCode::Char('j') => self.selected = (self.selected + 1).min(last),
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::PageDown => self.selected = (self.selected + 20).min(last),
            KeyCode::PageUp => self.selected = self.selected.saturating_sub(20),
            KeyCode::Home | KeyCode::Char('g') => self.selected = 0,
            KeyCode::End | KeyCode::Char('G') => self.selected = last,
            KeyCode::Enter => self.open_selected(),
            KeyCode::Esc if !self.filter.is_empty() => {
                // Esc on the groups clears the view filter.
                let _ = self.apply_filter("");
            }
            _ => return Action::None,
        }
        Action::Redraw
    }

    /// Apply a view filter (`""`: none); the message of a parse error,
    /// with its column, when it does not compile.
    pub fn apply_filter(&mut self, text: &str) -> Result<(), String> {
        let filter = if text.is_empty() {
            None
        } else {
            Some(
                Filter::parse(text)
                    .map_err(|e| format!("column {}: {}", e.column(), escape(&e.message)))?,
            )
        };
        {
            let mut live = self.shared.live.lock().unwrap_or_else(|p| p.into_inner());
            let now = self.shared.clock.now(&live);
            live.set_filter(filter, now);
        }
        self.filter = text.to_string();
        // Regrouped: the old rows' indices mean nothing now.
        self.view.rows.clear();
        self.selected = 0;
        self.refresh(true);
        Ok(())
    }

    fn open_selected(&mut self) {
        let Some(row) = self.view.rows.get(self.selected).cloned() else {
            return;
        };
        let live = self.shared.live.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.shared.clock.now(&live);
        let events: Vec<EventRow> = live
            .events_of(row.index)
            .iter()
            .map(|o| {
                let e = &o.event;
                EventRow {
                    last_seen: age(e.last_seen, now),
                    type_: escape(e.type_.as_deref().unwrap_or("")).into_owned(),
                    reason: escape(e.reason.as_deref().unwrap_or("")).into_owned(),
                    object: escape(&e.object.display_name()).into_owned(),
                    count: e.count.max(1),
                    message: escape(e.message.as_deref().unwrap_or("")).into_owned(),
                }
            })
            .collect();
        drop(live);
        let title = format!(
            "{} {} · {} · {} · {} occurrences, {} objects",
            row.type_,
            row.reason,
            if row.namespace.is_empty() {
                "(cluster)"
            } else {
                &row.namespace
            },
            row.workload,
            row.count,
            row.objects
        );
        self.mode = Mode::Events {
            title,
            events,
            scroll: 0,
        };
    }

    /// Whether the groups come from several clusters.
    pub fn cluster_column(&self) -> bool {
        varies(self.view.rows.iter().map(|r| &r.cluster))
    }

    /// Whether the groups span several namespaces.
    pub fn namespace_column(&self) -> bool {
        varies(self.view.rows.iter().map(|r| &r.namespace))
    }
}

/// Whether not all of `values` are the same.
fn varies<'a>(mut values: impl Iterator<Item = &'a String>) -> bool {
    match values.next() {
        Some(first) => values.any(|v| v != first),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::incident::live::Live;
    use crate::incident::live::ViewClock;
    use crate::model::{Event, ObjectRef, Occurrence, RecordContext};

    pub(super) fn occ(uid: &str, reason: &str, ty: &str, count: i64, msg: &str) -> Arc<Occurrence> {
        let t = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        Arc::new(Occurrence::new(
            Event {
                uid: uid.into(),
                resource_version: format!("{uid}-{count}"),
                namespace: Some("shop".into()),
                type_: Some(ty.into()),
                reason: Some(reason.into()),
                message: Some(msg.into()),
                object: ObjectRef {
                    kind: Some("Pod".into()),
                    // Pods of one ReplicaSet: one workload.
                    name: Some(format!("web-7d4f8b9c6-{}", suffix(uid))),
                    ..Default::default()
                },
                count,
                first_seen: Some(t),
                last_seen: Some(t),
                ..Default::default()
            },
            RecordContext::default(),
        ))
    }

    fn suffix(uid: &str) -> &'static str {
        match uid {
            "a1" => "bbbbb",
            "b1" => "ccccc",
            "b2" => "ddddd",
            _ => "fffff",
        }
    }

    pub(super) fn app() -> App {
        let shared = Shared::new(Live::new(), ViewClock::Newest);
        {
            let mut live = shared.live.lock().unwrap();
            let now = Utc::now();
            live.add(occ("a1", "Pulled", "Normal", 40, "pulled image"), now);
            live.add(
                occ("b1", "BackOff", "Warning", 3, "back-off \x1b[31mred"),
                now,
            );
            live.add(
                occ("b2", "BackOff", "Warning", 2, "back-off \x1b[31mred"),
                now,
            );
            live.add(
                occ("b1", "BackOff", "Warning", 5, "back-off \x1b[31mred"),
                now,
            );
        }
        App::new(shared, "test".into())
    }

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn type_text(app: &mut App, text: &str) {
        for c in text.chars() {
            app.on_key(key(KeyCode::Char(c)));
        }
    }

    #[test]
    fn warnings_first_text_escaped_and_sort_cycles() {
        let mut app = app();
        let rows = &app.view.rows;
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].reason, "BackOff");
        assert_eq!(rows[0].count, 7, "b1 at 5 and b2 at 2");
        assert_eq!(rows[0].message, "back-off ^[[31mred");
        assert_eq!(app.view.received, 4);
        app.on_key(key(KeyCode::Char('s')));
        assert_eq!(app.sort, SortBy::Rate);
        app.on_key(key(KeyCode::Char('s')));
        assert_eq!(app.sort, SortBy::Count);
        assert_eq!(app.view.rows[0].reason, "Pulled");
    }

    #[test]
    fn the_prompt_applies_a_filter_and_shows_errors_with_their_column() {
        let mut app = app();
        app.on_key(key(KeyCode::Char('/')));
        type_text(&mut app, "reason=Pulled and (");
        assert_eq!(app.on_key(key(KeyCode::Enter)), Action::Redraw);
        match &app.mode {
            Mode::Prompt { error: Some(e), .. } => assert!(e.starts_with("column 20:"), "{e}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(app.view.rows.len(), 2, "nothing applied");
        for _ in 0..6 {
            app.on_key(key(KeyCode::Backspace));
        }
        app.on_key(key(KeyCode::Enter));
        assert_eq!(app.mode, Mode::Groups);
        assert_eq!(app.filter, "reason=Pulled");
        assert_eq!(app.view.rows.len(), 1);
        assert_eq!(app.view.rows[0].reason, "Pulled");
        // `q` in the prompt is text, not quit.
        app.on_key(key(KeyCode::Char('/')));
        assert_eq!(app.on_key(key(KeyCode::Char('q'))), Action::Redraw);
        app.on_key(key(KeyCode::Esc));
        // Esc on the groups clears the filter.
        app.on_key(key(KeyCode::Esc));
        assert_eq!(app.filter, "");
        assert_eq!(app.view.rows.len(), 2);
        assert_eq!(app.on_key(key(KeyCode::Char('q'))), Action::Quit);
    }

    #[test]
    fn pause_freezes_the_snapshot_and_enter_opens_a_group() {
        let mut app = app();
        app.on_key(key(KeyCode::Char('p')));
        assert!(app.paused);
        {
            let mut live = app.shared.live.lock().unwrap();
            live.add(occ("c1", "Failed", "Warning", 9, "failed"), Utc::now());
        }
        app.refresh(false);
        assert_eq!(app.view.rows.len(), 2, "frozen");
        app.on_key(key(KeyCode::Char('p')));
        assert_eq!(app.view.rows.len(), 3);
        let backoff = app
            .view
            .rows
            .iter()
            .position(|r| r.reason == "BackOff")
            .unwrap();
        app.selected = backoff;
        app.on_key(key(KeyCode::Enter));
        match &app.mode {
            Mode::Events { title, events, .. } => {
                assert!(title.contains("BackOff"), "{title}");
                // b1 twice (3 then 5) and b2: two events, b1 at its latest.
                assert_eq!(events.len(), 2);
                assert_eq!(events[0].count, 5);
                assert_eq!(events[0].object, "Pod/web-7d4f8b9c6-ccccc");
            }
            other => panic!("{other:?}"),
        }
        app.on_key(key(KeyCode::Esc));
        assert_eq!(app.mode, Mode::Groups);
    }
}
