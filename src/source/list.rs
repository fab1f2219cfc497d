//! Paged listing of core/v1 Events.
//!
//! kubectl lists events in pages of 500 under client-go's default client-side
//! limit of 5 requests/s, which is why `kubectl events -A` takes many seconds
//! on a big cluster. kev asks for large pages, does not throttle, and
//! overlaps the next page's request with decoding the current one: a fetch
//! task downloads page N+1 while the caller decodes page N.

use std::sync::Arc;
use std::time::Duration;

use kube::api::ListParams;
use kube::core::Request;
use serde::Deserialize;
use serde::de::IgnoredAny;
use tokio::sync::mpsc;

use super::{ApiError, Scope, api};
use crate::model::{Event, WireEventList};

/// What to list.
#[derive(Clone, Debug)]
pub struct ListOptions {
    /// Namespace, or `None` for all.
    pub namespace: Option<String>,
    /// Field selector pushed down to the apiserver.
    pub field_selector: Option<String>,
    /// Page size.
    pub page_size: u32,
    /// How long one request may take (`--request-timeout`); `None`: no limit.
    pub request_timeout: Option<Duration>,
    /// Keep each Event object's JSON as the apiserver sent it (`--list`
    /// prints the objects themselves, in the output module).
    pub keep_raw: bool,
}

impl ListOptions {
    /// The scope of a call with `verb` on this collection at `url`.
    pub fn scope(&self, verb: &'static str, url: &str) -> Scope {
        Scope::events(verb, self.namespace.clone(), url)
    }
}

/// The URL path of the events collection.
pub fn events_path(namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("/api/v1/namespaces/{ns}/events"),
        None => "/api/v1/events".to_string(),
    }
}

#[derive(Deserialize)]
struct PageMeta {
    #[serde(default)]
    metadata: crate::model::wire::WireListMeta,
    #[allow(dead_code)]
    #[serde(default)]
    items: IgnoredAny,
}

fn malformed(e: impl std::fmt::Display) -> ApiError {
    ApiError::Malformed {
        verb: "list",
        reason: e.to_string(),
    }
}

/// Fetch one page: its text, and the continue token for the next one. Only
/// the list metadata is decoded here, so the next request can go out while
/// the caller decodes this page's items.
async fn fetch_page(
    client: &kube::Client,
    request: &Request,
    opts: &ListOptions,
    token: Option<&str>,
    scope: &Scope,
) -> Result<(String, Option<String>), ApiError> {
    let mut lp = ListParams::default().limit(opts.page_size);
    if let Some(fs) = &opts.field_selector {
        lp = lp.fields(fs);
    }
    if let Some(t) = token {
        lp = lp.continue_token(t);
    }
    let req = request.list(&lp).map_err(malformed)?;
    let text = api::get_text(client, req, scope, opts.request_timeout).await?;
    let meta: PageMeta = serde_json::from_str(&text).map_err(malformed)?;
    let next = meta.metadata.continue_.filter(|c| !c.is_empty());
    Ok((text, next))
}

/// A page's items as JSON text, for [`ListOptions::keep_raw`].
#[derive(Deserialize)]
struct RawPage<'a> {
    #[serde(default)]
    metadata: crate::model::wire::WireListMeta,
    #[serde(borrow, default)]
    items: Vec<&'a serde_json::value::RawValue>,
}

/// A decoded page: its resourceVersion, its events and, with `keep_raw`,
/// each event's object as it came (else empty).
struct Page {
    resource_version: Option<String>,
    events: Vec<Event>,
    raw: Vec<Arc<str>>,
}

fn decode_page(text: &str, keep_raw: bool) -> Result<Page, serde_json::Error> {
    if !keep_raw {
        let list: WireEventList = serde_json::from_str(text)?;
        return Ok(Page {
            resource_version: list.metadata.resource_version,
            events: list.items.into_iter().map(Event::from).collect(),
            raw: Vec::new(),
        });
    }
    let page: RawPage<'_> = serde_json::from_str(text)?;
    let mut events = Vec::with_capacity(page.items.len());
    let mut raw = Vec::with_capacity(page.items.len());
    for item in page.items {
        let wire: crate::model::WireEvent = serde_json::from_str(item.get())?;
        events.push(Event::from(wire));
        raw.push(Arc::from(item.get()));
    }
    Ok(Page {
        resource_version: page.metadata.resource_version,
        events,
        raw,
    })
}

/// List every event, calling `on_page` with each decoded page in order:
/// its events and, with [`ListOptions::keep_raw`], their objects (index by
/// index; else empty). Returns the list's resourceVersion (where a watch
/// continues).
pub async fn list_events(
    client: &kube::Client,
    url: &str,
    opts: &ListOptions,
    mut on_page: impl FnMut(Vec<Event>, Vec<Arc<str>>),
) -> Result<String, ApiError> {
    let scope = opts.scope("list", url);
    let (tx, mut rx) = mpsc::channel::<Result<String, ApiError>>(1);
    let fetch = {
        let client = client.clone();
        let opts = opts.clone();
        let scope = scope.clone();
        tokio::spawn(async move {
            let request = Request::new(events_path(opts.namespace.as_deref()));
            let mut token: Option<String> = None;
            loop {
                let page = fetch_page(&client, &request, &opts, token.as_deref(), &scope).await;
                let (text, next) = match page {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                if tx.send(Ok(text)).await.is_err() {
                    return;
                }
                match next {
                    Some(t) => token = Some(t),
                    None => return,
                }
            }
        })
    };
    let mut resource_version = String::new();
    let mut result = Ok(());
    while let Some(page) = rx.recv().await {
        let text = match page {
            Ok(t) => t,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        let page = match decode_page(&text, opts.keep_raw) {
            Ok(page) => page,
            Err(e) => {
                result = Err(malformed(e));
                break;
            }
        };
        if let Some(rv) = page.resource_version {
            resource_version = rv;
        }
        on_page(page.events, page.raw);
    }
    drop(rx);
    let _ = fetch.await;
    result.map(|_| resource_version)
}
