//! Drawing: a pure function of [`App`] (no I/O, no model access), so the
//! screen is tested on ratatui's test backend.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use super::{App, Mode, rate};
use crate::incident::live::sparkline;

const HELP: &str = "q quit  / filter  p pause  s sort  ↑↓ select  Enter events";
const EVENTS_HELP: &str = "Esc back  ↑↓ scroll  q quit";

/// Draw `app` on `frame`.
pub fn draw(app: &App, frame: &mut Frame<'_>) {
    let prompt = matches!(app.mode, Mode::Prompt { .. });
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(if prompt { 2 } else { 1 }),
    ])
    .areas(frame.area());
    frame.render_widget(Paragraph::new(status(app)), top);
    match &app.mode {
        Mode::Events {
            title,
            events,
            scroll,
        } => draw_events(frame, body, title, events, *scroll),
        _ => draw_groups(app, frame, body),
    }
    frame.render_widget(Paragraph::new(footer(app)), bottom);
}

fn status(app: &App) -> Line<'static> {
    let v = &app.view;
    let mut spans = vec![
        Span::styled("kev top", Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(format!(" │ {} │ ", app.title)),
        Span::raw(format!(
            "{} received, {} in {} groups │ sort: {}",
            v.received,
            v.shown,
            v.rows.len(),
            app.sort.name()
        )),
    ];
    if !app.filter.is_empty() {
        spans.push(Span::raw(" │ filter: "));
        spans.push(Span::styled(
            app.filter.clone(),
            Style::new().fg(Color::Cyan),
        ));
    }
    if app.paused {
        spans.push(Span::styled(
            " │ PAUSED",
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ));
    }
    if let Some(now) = v.now {
        spans.push(Span::raw(format!(
            " │ {}",
            now.format("%Y-%m-%d %H:%M:%SZ")
        )));
    }
    Line::from(spans)
}

fn footer(app: &App) -> Vec<Line<'static>> {
    match &app.mode {
        Mode::Prompt { input, error } => {
            let first = match error {
                Some(e) => Line::styled(format!("error: {e}"), Style::new().fg(Color::Red)),
                None => Line::styled(
                    "filter expression (docs/filter.md); Enter applies, empty clears, Esc cancels",
                    Style::new().fg(Color::DarkGray),
                ),
            };
            vec![
                first,
                Line::from(vec![
                    Span::styled("/", Style::new().fg(Color::Cyan)),
                    Span::raw(input.clone()),
                    Span::styled("█", Style::new().fg(Color::Cyan)),
                ]),
            ]
        }
        Mode::Events { .. } => vec![Line::styled(EVENTS_HELP, Style::new().fg(Color::DarkGray))],
        Mode::Groups => match &app.notice {
            Some((text, true)) => vec![Line::styled(text.clone(), Style::new().fg(Color::Red))],
            Some((text, false)) => vec![Line::from(vec![
                Span::styled(HELP, Style::new().fg(Color::DarkGray)),
                Span::raw(format!("  │ {text}")),
            ])],
            None => vec![Line::styled(HELP, Style::new().fg(Color::DarkGray))],
        },
    }
}

/// The display width of the widest of `values` and `header`, at most `cap`.
fn width<'a>(header: &str, values: impl Iterator<Item = &'a str>, cap: usize) -> u16 {
    let w = values
        .map(|v| Span::raw(v).width())
        .max()
        .unwrap_or(0)
        .max(header.len());
    w.min(cap) as u16
}

fn draw_groups(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let rows = &app.view.rows;
    let cluster = app.cluster_column();
    let namespace = app.namespace_column();
    let mut header = Vec::new();
    let mut widths = Vec::new();
    if cluster {
        header.push("CLUSTER");
        widths.push(Constraint::Length(width(
            "CLUSTER",
            rows.iter().map(|r| r.cluster.as_str()),
            20,
        )));
    }
    for (h, w) in [
        ("COUNT", 7),
        ("1M", 5),
        ("5M", 5),
        ("15M", 5),
        ("TREND", 15),
    ] {
        header.push(h);
        widths.push(Constraint::Length(w));
    }
    header.push("TYPE");
    widths.push(Constraint::Length(7));
    header.push("REASON");
    widths.push(Constraint::Length(width(
        "REASON",
        rows.iter().map(|r| r.reason.as_str()),
        24,
    )));
    if namespace {
        header.push("NAMESPACE");
        widths.push(Constraint::Length(width(
            "NAMESPACE",
            rows.iter().map(|r| r.namespace.as_str()),
            20,
        )));
    }
    header.push("WORKLOAD");
    widths.push(Constraint::Length(width(
        "WORKLOAD",
        rows.iter().map(|r| r.workload.as_str()),
        32,
    )));
    header.push("LAST");
    widths.push(Constraint::Length(5));
    header.push("MESSAGE");
    widths.push(Constraint::Fill(1));

    let body = rows.iter().map(|r| {
        let mut cells = Vec::new();
        if cluster {
            cells.push(Cell::from(r.cluster.clone()));
        }
        cells.push(Cell::from(r.count.to_string()));
        for x in r.rates {
            cells.push(Cell::from(rate(x)));
        }
        cells.push(Cell::from(sparkline(&r.minutes)).style(Style::new().fg(Color::Cyan)));
        let ty = if r.warning {
            Style::new().fg(Color::Yellow)
        } else {
            Style::new()
        };
        cells.push(Cell::from(r.type_.clone()).style(ty));
        cells.push(Cell::from(r.reason.clone()));
        if namespace {
            cells.push(Cell::from(r.namespace.clone()));
        }
        cells.push(Cell::from(r.workload.clone()));
        cells.push(Cell::from(r.last_seen.clone()));
        cells.push(Cell::from(r.message.clone()));
        Row::new(cells)
    });
    let table = Table::new(body, widths)
        .header(Row::new(header).style(Style::new().add_modifier(Modifier::BOLD)))
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .column_spacing(1);
    if rows.is_empty() {
        let empty = if app.filter.is_empty() {
            "No events yet."
        } else {
            "No events match the filter (Esc clears it)."
        };
        let [head, rest] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
        frame.render_widget(table, head);
        frame.render_widget(Paragraph::new(empty), rest);
        return;
    }
    let mut state = TableState::default().with_selected(Some(app.selected));
    frame.render_stateful_widget(table, area, &mut state);
}

fn draw_events(
    frame: &mut Frame<'_>,
    area: Rect,
    title: &str,
    events: &[super::EventRow],
    scroll: usize,
) {
    let [head, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    frame.render_widget(
        Paragraph::new(Line::styled(
            title.to_string(),
            Style::new().add_modifier(Modifier::BOLD),
        )),
        head,
    );
    let widths = [
        Constraint::Length(9),
        Constraint::Length(7),
        Constraint::Length(width(
            "REASON",
            events.iter().map(|e| e.reason.as_str()),
            24,
        )),
        Constraint::Length(width(
            "OBJECT",
            events.iter().map(|e| e.object.as_str()),
            48,
        )),
        Constraint::Length(6),
        Constraint::Fill(1),
    ];
    let rows = events.iter().skip(scroll).map(|e| {
        Row::new(vec![
            Cell::from(e.last_seen.clone()),
            Cell::from(e.type_.clone()),
            Cell::from(e.reason.clone()),
            Cell::from(e.object.clone()),
            Cell::from(e.count.to_string()),
            Cell::from(e.message.clone()),
        ])
    });
    let table = Table::new(rows, widths)
        .header(
            Row::new(["LAST SEEN", "TYPE", "REASON", "OBJECT", "COUNT", "MESSAGE"])
                .style(Style::new().add_modifier(Modifier::BOLD)),
        )
        .column_spacing(1);
    frame.render_widget(table, rest);
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::tui::tests::app;

    fn screen(app: &App) -> String {
        let mut t = Terminal::new(TestBackend::new(160, 12)).unwrap();
        t.draw(|f| draw(app, f)).unwrap();
        let buf = t.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }

    #[test]
    fn the_groups_table_and_the_prompt() {
        let mut app = app();
        let s = screen(&app);
        let lines: Vec<&str> = s.lines().collect();
        assert!(
            lines[0].starts_with("kev top │ test │ 4 received, 47 in 2 groups"),
            "{s}"
        );
        assert!(
            lines[1].contains("COUNT") && lines[1].contains("TREND"),
            "{s}"
        );
        let backoff = lines.iter().position(|l| l.contains("BackOff")).unwrap();
        let pulled = lines.iter().position(|l| l.contains("Pulled")).unwrap();
        assert!(backoff < pulled, "warnings first:\n{s}");
        assert!(lines[backoff].contains("back-off ^[[31mred"), "{s}");
        assert!(!s.contains('\x1b'), "nothing raw");
        assert!(lines[11].starts_with("q quit  / filter"), "{s}");
        app.on_key(ratatui::crossterm::event::KeyEvent::from(
            ratatui::crossterm::event::KeyCode::Char('/'),
        ));
        let s = screen(&app);
        assert!(s.lines().nth(11).unwrap().starts_with("/█"), "{s}");
    }
}
