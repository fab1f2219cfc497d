//! Running a command: resolve flags into settings, connect, list or follow,
//! print. `main` calls [`run`] and turns its [`Failure`] into an exit code.

use std::io::{self, IsTerminal, Write};

use anyhow::Context;
use chrono::Utc;
use clap::CommandFactory;

use crate::cli::{Cli, Command, OutputArgs};
use crate::client::{ClusterOptions, connect};
use crate::exit::Failure;
use crate::model::Occurrence;
use crate::model::RecordContext;
use crate::model::record::WatchType;
use crate::output::{OutputFormat, Printer, TableOptions, printer, sort_by_last_seen};
use crate::select::{ForSpec, Selection};
use crate::source::discovery;
use crate::source::list::{ListOptions, list_events};
use crate::source::watch::{EventWatcher, Update, WatchOptions};

/// Run the parsed command line.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Some(Command::Completions { shell }) => {
            // Generate into memory: the generators panic on a write error,
            // and `kev completions bash | head` must exit 0 quietly.
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "kev", &mut buf);
            ignore_broken_pipe(io::stdout().lock().write_all(&buf)).map_err(Failure::runtime)
        }
        Some(Command::Man) => {
            let man = clap_mangen::Man::new(Cli::command());
            let mut out = io::stdout().lock();
            ignore_broken_pipe(man.render(&mut out)).map_err(Failure::runtime)
        }
        Some(Command::Replay(args)) => crate::replay_cmd::run(*args).await,
        None => tail(cli).await,
    }
}

/// Treat a closed stdout (`kev | head`) as success.
pub fn ignore_broken_pipe(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Whether colour is on for stdout.
pub fn color_enabled(out: &OutputArgs) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    out.color.enabled(io::stdout().is_terminal(), no_color)
}

/// The printer for the output flags.
pub fn make_printer(out: &OutputArgs, namespace_column: bool) -> Box<dyn Printer + Send> {
    printer(
        out.output,
        TableOptions {
            namespace_column,
            no_headers: out.no_headers,
            color: color_enabled(out),
        },
    )
}

struct Stdout {
    out: io::BufWriter<io::Stdout>,
    closed: bool,
}

impl Stdout {
    fn new() -> Self {
        Stdout {
            out: io::BufWriter::with_capacity(64 * 1024, io::stdout()),
            closed: false,
        }
    }

    /// Run a write; a closed pipe marks stdout closed (and is not an error).
    fn write(&mut self, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), Failure> {
        if self.closed {
            return Ok(());
        }
        match f(&mut self.out) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            r => r.context("writing to stdout").map_err(Failure::runtime),
        }
    }

    fn flush(&mut self) -> Result<(), Failure> {
        self.write(|w| w.flush())
    }
}

async fn tail(cli: Cli) -> Result<(), Failure> {
    crate::client::install_crypto_provider();
    let cluster = connect(&ClusterOptions {
        kubeconfig: cli.cluster.kubeconfig.clone(),
        context: cli.cluster.context.clone(),
    })
    .await
    .map_err(Failure::usage)?;
    let namespace = if cli.cluster.all_namespaces {
        None
    } else {
        Some(
            cli.cluster
                .namespace
                .clone()
                .unwrap_or_else(|| cluster.default_namespace.clone()),
        )
    };
    let for_object = match &cli.filter.for_object {
        Some(spec) => Some(
            discovery::resolve(
                &cluster.client,
                &crate::model::ObjectSpec::parse(spec)
                    .map_err(|e| Failure::usage(anyhow::anyhow!("--for {spec:?}: {e}")))?,
            )
            .await
            .map_err(|e| match e {
                discovery::ForError::Discovery(_) => Failure::runtime(e),
                _ => Failure::usage(e),
            })?,
        ),
        None => None,
    };
    let selection = Selection::build(
        &cli.expr,
        &cli.filter,
        for_object.as_ref().map(ForSpec::Resolved),
        Vec::new(),
    )
    .map_err(Failure::usage)?;
    let list = ListOptions {
        namespace: namespace.clone(),
        field_selector: selection.field_selector(),
        page_size: cli.cluster.chunk_size.max(1),
    };
    tracing::debug!(field_selector = ?list.field_selector, namespace = ?namespace, "listing");
    let mut printer = make_printer(&cli.output, cli.cluster.all_namespaces);
    let mut stdout = Stdout::new();
    let context = RecordContext::default();
    let no_events_msg = || match &namespace {
        Some(ns) => format!("No events found in {ns} namespace."),
        None => "No events found.".to_string(),
    };

    if !cli.follow.watch && !cli.follow.watch_only {
        let now = Utc::now();
        let mut batch: Vec<Occurrence> = Vec::new();
        list_events(&cluster.client, &cluster.url, &list, |page| {
            let observed_at = Some(Utc::now());
            batch.extend(
                page.into_iter()
                    .filter(|e| selection.matches(e, now))
                    .map(|event| Occurrence {
                        event,
                        context: RecordContext {
                            observed_at,
                            ..context.clone()
                        },
                        position: None,
                    }),
            )
        })
        .await
        .map_err(Failure::runtime)?;
        if batch.is_empty() {
            if matches!(cli.output.output, OutputFormat::Table | OutputFormat::Wide) {
                eprintln!("{}", no_events_msg());
            }
            return Ok(());
        }
        sort_by_last_seen(&mut batch);
        stdout.write(|w| printer.print_batch(w, &batch, now))?;
        return stdout.flush();
    }

    let mut opts = WatchOptions::new(list);
    opts.list_first = !cli.follow.watch_only;
    let mut watcher = EventWatcher::new(cluster.client.clone(), cluster.url.clone(), opts);
    loop {
        let update = watcher.next().await.map_err(Failure::runtime)?;
        let now = Utc::now();
        match update {
            Update::Listed { events, relist } => {
                let mut batch: Vec<Occurrence> = events
                    .into_iter()
                    .filter(|e| selection.matches(e, now))
                    .map(|event| Occurrence {
                        event,
                        context: RecordContext {
                            observed_at: Some(now),
                            watch_type: relist.then_some(WatchType::Added),
                            ..context.clone()
                        },
                        position: None,
                    })
                    .collect();
                sort_by_last_seen(&mut batch);
                if !relist
                    && batch.is_empty()
                    && matches!(cli.output.output, OutputFormat::Table | OutputFormat::Wide)
                {
                    eprintln!("{}", no_events_msg());
                }
                if relist {
                    for occ in &batch {
                        stdout.write(|w| printer.print_one(w, occ, now))?;
                    }
                } else {
                    stdout.write(|w| printer.print_batch(w, &batch, now))?;
                }
            }
            Update::Changed { event, watch_type } => {
                if watch_type == WatchType::Deleted && !cli.follow.include_deleted {
                    continue;
                }
                if !selection.matches(&event, now) {
                    continue;
                }
                let occ = Occurrence {
                    event: *event,
                    context: RecordContext {
                        observed_at: Some(now),
                        watch_type: Some(watch_type),
                        ..context.clone()
                    },
                    position: None,
                };
                stdout.write(|w| printer.print_one(w, &occ, now))?;
            }
        }
        stdout.flush()?;
        if stdout.closed {
            return Ok(());
        }
    }
}
