//! Request routing and the handlers: discovery, event list, watch and GET.
//!
//! Every request is recorded, routed by path, checked against the fault
//! script (event requests and namespace GETs only) and answered. Event lists
//! follow the apiserver's paging contract: items in key order, `limit` and an opaque
//! `continue` token that pins the first page's resourceVersion, so every page
//! of one list is cut from the same snapshot; `remainingItemCount` only
//! without selectors; `410 Expired` once the snapshot is compacted. Other
//! served resources answer empty lists, so kubectl commands that touch them
//! work. Of named objects other than events, only the `kube-system`
//! namespace exists (it carries the cluster's uid); the rest are not found.
//! Events requests first expire events whose TTL ran out, so that no
//! request sees one the background tick has not yet removed.

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{ACCEPT, AUTHORIZATION, USER_AGENT};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;

use super::body::{self, Body, ConnectionKill};
use super::cluster::{ExpiredWatch, FakeCluster, namespace_prefix};
use super::discovery::{self, CORE_V1, GroupVersion, Resource};
use super::fault::Fault;
use super::record::{RecordedRequest, RequestKind, parse_query};
use super::selector::FieldSelector;
use super::server::Shared;
use super::signal;
use super::status::ApiStatus;
use super::watch::{self, Start, WatchPlan};

/// Where a path leads.
#[derive(Debug, Clone, Copy)]
enum Route<'a> {
    Version,
    Api,
    Apis,
    OpenApi,
    Group(&'a str),
    GroupVersion(&'static GroupVersion),
    Collection {
        gv: &'static GroupVersion,
        resource: &'static Resource,
        namespace: Option<&'a str>,
    },
    Object {
        gv: &'static GroupVersion,
        resource: &'static Resource,
        namespace: Option<&'a str>,
        name: &'a str,
    },
    Unknown,
}

impl<'a> Route<'a> {
    fn parse(path: &'a str) -> Self {
        let segments: Vec<&str> = path
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        match segments.as_slice() {
            ["version"] => Route::Version,
            ["api"] => Route::Api,
            ["apis"] => Route::Apis,
            ["openapi", ..] => Route::OpenApi,
            ["api", "v1", rest @ ..] => Self::in_group_version(&CORE_V1, rest),
            ["apis", group] => Route::Group(group),
            ["apis", group, version, rest @ ..] => match discovery::group(group, version) {
                Some(gv) => Self::in_group_version(gv, rest),
                None => Route::Unknown,
            },
            _ => Route::Unknown,
        }
    }

    fn in_group_version(gv: &'static GroupVersion, rest: &[&'a str]) -> Self {
        let resource = |name: &str| gv.resource(name);
        match rest {
            [] => Route::GroupVersion(gv),
            ["namespaces", ns, res] => match resource(res) {
                Some(resource) if resource.namespaced => Route::Collection {
                    gv,
                    resource,
                    namespace: Some(ns),
                },
                _ => Route::Unknown,
            },
            ["namespaces", ns, res, name] => match resource(res) {
                Some(resource) if resource.namespaced => Route::Object {
                    gv,
                    resource,
                    namespace: Some(ns),
                    name,
                },
                _ => Route::Unknown,
            },
            [res] => match resource(res) {
                Some(resource) => Route::Collection {
                    gv,
                    resource,
                    namespace: None,
                },
                None => Route::Unknown,
            },
            [res, name] => match resource(res) {
                Some(resource) if !resource.namespaced => Route::Object {
                    gv,
                    resource,
                    namespace: None,
                    name,
                },
                _ => Route::Unknown,
            },
            _ => Route::Unknown,
        }
    }

    /// Whether this route is the core/v1 events resource (the only one with data).
    fn is_events(&self) -> bool {
        match self {
            Route::Collection { gv, resource, .. } | Route::Object { gv, resource, .. } => {
                gv.group.is_empty() && resource.name == "events"
            }
            _ => false,
        }
    }

    /// The name of the namespace this route GETs, if it is a namespace GET.
    fn namespace_name(&self) -> Option<&'a str> {
        match self {
            Route::Object {
                gv, resource, name, ..
            } if gv.group.is_empty() && resource.name == "namespaces" => Some(name),
            _ => None,
        }
    }

    fn kind(&self, watch: bool) -> RequestKind {
        match self {
            Route::Version
            | Route::Api
            | Route::Apis
            | Route::OpenApi
            | Route::Group(_)
            | Route::GroupVersion(_) => RequestKind::Discovery,
            Route::Collection { .. } if self.is_events() && watch => RequestKind::Watch,
            Route::Collection { .. } if self.is_events() => RequestKind::List,
            Route::Object { .. } if self.is_events() => RequestKind::Get,
            Route::Object { .. } if self.namespace_name().is_some() => RequestKind::Namespace,
            _ => RequestKind::Other,
        }
    }
}

/// The query parameters of one request.
struct Params(Vec<(String, String)>);

impl Params {
    /// The value of `name`, if given and not empty.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn is_watch(&self) -> bool {
        matches!(self.get("watch"), Some("1" | "true" | "True"))
    }

    fn number(&self, name: &str) -> Result<Option<u64>, ApiStatus> {
        self.get(name)
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    ApiStatus::bad_request(format!(
                        "strconv.ParseInt: parsing \"{v}\": invalid syntax"
                    ))
                })
            })
            .transpose()
    }

    fn selector(&self) -> Result<FieldSelector, ApiStatus> {
        FieldSelector::parse(self.get("fieldSelector").unwrap_or(""))
            .map_err(|e| ApiStatus::bad_request(e.to_string()))
    }
}

/// Answer one request.
pub(crate) async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    kill: ConnectionKill,
) -> Result<Response<Body>, std::convert::Infallible> {
    let path = req.uri().path().to_owned();
    let raw_query = req.uri().query().map(str::to_owned);
    let params = Params(parse_query(raw_query.as_deref().unwrap_or("")));
    let route = Route::parse(&path);
    let kind = route.kind(params.is_watch());
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let idx = shared.log.record(RecordedRequest {
        method: req.method().to_string(),
        path: path.clone(),
        raw_query: raw_query.clone(),
        query: params.0.clone(),
        kind,
        user_agent: header(USER_AGENT),
        accept: header(ACCEPT),
        authorization: header(AUTHORIZATION),
        impersonate_user: header(hyper::header::HeaderName::from_static("impersonate-user")),
        impersonate_groups: req
            .headers()
            .get_all("impersonate-group")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect(),
        status: None,
    });
    tracing::debug!(
        method = %req.method(),
        uri = %req.uri(),
        ?kind,
        accept = header(ACCEPT).as_deref().unwrap_or(""),
        "fake apiserver request"
    );
    let resp = if req.method() != Method::GET {
        body::status_response(&ApiStatus::method_not_allowed())
    } else {
        respond(&route, kind, &params, &shared, kill)
            .await
            .unwrap_or_else(|status| body::status_response(&status))
    };
    shared.log.set_status(idx, resp.status().as_u16());
    Ok(resp)
}

fn json_ok(value: &serde_json::Value) -> Response<Body> {
    body::json_response(StatusCode::OK, value.to_string())
}

async fn respond(
    route: &Route<'_>,
    kind: RequestKind,
    params: &Params,
    shared: &Shared,
    kill: ConnectionKill,
) -> Result<Response<Body>, ApiStatus> {
    match *route {
        Route::Version => Ok(json_ok(&discovery::version())),
        Route::Api => Ok(json_ok(&discovery::api_versions(shared.addr))),
        Route::Apis => Ok(json_ok(&discovery::api_group_list())),
        Route::Group(name) => discovery::api_group(name)
            .map(|doc| json_ok(&doc))
            .ok_or_else(ApiStatus::no_such_path),
        Route::GroupVersion(gv) => Ok(json_ok(&discovery::resource_list(gv))),
        Route::OpenApi | Route::Unknown => Err(ApiStatus::no_such_path()),
        _ if route.is_events() => events(route, kind, params, shared, kill).await,
        _ if kind == RequestKind::Namespace => namespace(route, kind, params, shared).await,
        Route::Collection {
            gv,
            resource,
            namespace,
        } => {
            // Served only so that discovery-driven commands find something:
            // the events.k8s.io view of events is not implemented.
            if gv.group == "events.k8s.io" {
                return Err(ApiStatus::no_such_path());
            }
            if params.is_watch() {
                let plan = WatchPlan {
                    cluster: None,
                    prefix: namespace.map(namespace_prefix),
                    selector: FieldSelector::default(),
                    start: Start::Current,
                    deadline: deadline(params)?,
                    fault: None,
                    initial_events_end: false,
                    shutdown: shared.shutdown.clone(),
                };
                return Ok(start_watch(plan, kill));
            }
            let rv = shared.cluster.resource_version();
            Ok(json_ok(&json!({
                "kind": format!("{}List", resource.kind),
                "apiVersion": gv.group_version(),
                "metadata": {"resourceVersion": rv.to_string()},
                "items": []
            })))
        }
        Route::Object { resource, name, .. } => Err(ApiStatus::not_found(resource.name, name)),
    }
}

/// When `timeoutSeconds` ends a watch; 0 or absent means no timeout (the
/// apiserver would pick a random 30 to 60 minutes).
fn deadline(params: &Params) -> Result<Option<tokio::time::Instant>, ApiStatus> {
    Ok(params
        .number("timeoutSeconds")?
        .filter(|&secs| secs > 0)
        .map(|secs| tokio::time::Instant::now() + Duration::from_secs(secs)))
}

fn start_watch(plan: WatchPlan, kill: ConnectionKill) -> Response<Body> {
    let (out, resp) = body::streaming_response(kill);
    tokio::spawn(watch::run(plan, out));
    resp
}

/// The status a whole-response fault answers with, if it is one.
fn fault_status(
    fault: &Fault,
    route: &Route<'_>,
    kind: RequestKind,
    params: &Params,
    cluster: &FakeCluster,
) -> Option<ApiStatus> {
    let (namespace, name) = match *route {
        Route::Collection { namespace, .. } => (namespace, None),
        Route::Object {
            namespace, name, ..
        } => (namespace, Some(name)),
        _ => (None, None),
    };
    let verb = match kind {
        RequestKind::Watch => "watch",
        RequestKind::Get | RequestKind::Namespace => "get",
        _ => "list",
    };
    match fault {
        Fault::Status(status) => Some(status.clone()),
        // The apiserver authorizes a namespace GET in that namespace.
        Fault::Forbidden { user } if kind == RequestKind::Namespace => Some(ApiStatus::forbidden(
            user,
            verb,
            "namespaces",
            "",
            name,
            name,
        )),
        Fault::Forbidden { user } => Some(ApiStatus::forbidden(
            user, verb, "events", "", namespace, name,
        )),
        Fault::Gone if kind == RequestKind::Namespace => None,
        Fault::Gone if kind == RequestKind::Watch => {
            let rv = params
                .get("resourceVersion")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            Some(ApiStatus::too_old_resource_version(
                rv,
                cluster.resource_version(),
            ))
        }
        Fault::Gone => Some(ApiStatus::expired(
            "The resourceVersion for the provided list is too old.",
        )),
        _ => None,
    }
}

/// Take the scripted fault for this request and apply the whole-response
/// ones: wait at a [`Fault::Hold`]'s gate, answer a status fault. Returns the
/// fault left for the handler (a stream fault), if any.
async fn scripted_fault(
    route: &Route<'_>,
    kind: RequestKind,
    params: &Params,
    shared: &Shared,
) -> Result<Option<Fault>, ApiStatus> {
    let mut fault = shared.script.take(kind);
    if let Some(Fault::Hold(gate)) = &fault {
        let mut shutdown = shared.shutdown.clone();
        tokio::select! {
            () = gate.pass() => {}
            () = signal::shutdown(&mut shutdown) => return Err(ApiStatus::service_unavailable()),
        }
        fault = None;
    }
    if let Some(Fault::Pass) = fault {
        fault = None;
    }
    if let Some(f) = &fault
        && let Some(status) = fault_status(f, route, kind, params, &shared.cluster)
    {
        return Err(status);
    }
    Ok(fault)
}

/// `GET /api/v1/namespaces/NAME`: `kube-system` with the cluster's uid, 404 otherwise.
async fn namespace(
    route: &Route<'_>,
    kind: RequestKind,
    params: &Params,
    shared: &Shared,
) -> Result<Response<Body>, ApiStatus> {
    let fault = scripted_fault(route, kind, params, shared).await?;
    reject_stream_fault(fault.as_ref(), kind)?;
    let name = route.namespace_name().unwrap_or_default();
    shared
        .cluster
        .namespace(name)
        .map(|ns| json_ok(&ns))
        .ok_or_else(|| ApiStatus::not_found("namespaces", name))
}

async fn events(
    route: &Route<'_>,
    kind: RequestKind,
    params: &Params,
    shared: &Shared,
    kill: ConnectionKill,
) -> Result<Response<Body>, ApiStatus> {
    shared.cluster.expire_now();
    let fault = scripted_fault(route, kind, params, shared).await?;
    match (*route, kind) {
        (
            Route::Object {
                namespace: Some(ns),
                name,
                ..
            },
            RequestKind::Get,
        ) => {
            reject_stream_fault(fault.as_ref(), kind)?;
            shared
                .cluster
                .get_event(ns, name)
                .map(|e| json_ok(&e))
                .ok_or_else(|| ApiStatus::not_found("events", name))
        }
        (Route::Collection { namespace, .. }, RequestKind::List) => {
            list(namespace, params, shared, fault, kill).await
        }
        (Route::Collection { namespace, .. }, RequestKind::Watch) => {
            watch(namespace, params, shared, fault, kill)
        }
        _ => Err(ApiStatus::no_such_path()),
    }
}

/// A stream fault scripted for a request it cannot apply to: fail loudly.
fn reject_stream_fault(fault: Option<&Fault>, kind: RequestKind) -> Result<(), ApiStatus> {
    match fault {
        None => Ok(()),
        Some(f) => Err(ApiStatus::internal_error(&format!(
            "testkit script error: fault {f:?} does not apply to a {kind:?} request"
        ))),
    }
}

/// The position a `continue` token resumes from, as kube-apiserver encodes it:
/// base64url (no padding) of `{"v":"meta.k8s.io/v1","rv":N,"start":"<key>\u0000"}`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    /// The token format version.
    v: String,
    /// The resourceVersion of the list's snapshot; -1 for "no snapshot, now"
    /// (the token an expired continue hands out).
    rv: i64,
    /// The first key to list: the last key sent plus a NUL byte.
    start: String,
}

impl ContinueToken {
    fn new(rv: i64, last_key: &str) -> Self {
        ContinueToken {
            v: "meta.k8s.io/v1".into(),
            rv,
            start: format!("{last_key}\0"),
        }
    }

    fn encode(&self) -> String {
        base64url_encode(&serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(token: &str) -> Result<Self, ApiStatus> {
        let invalid = |why: String| {
            ApiStatus::bad_request(format!(
                "invalid continue token: continue key is not valid: {why}"
            ))
        };
        let bytes = base64url_decode(token)
            .map_err(|at| invalid(format!("illegal base64 data at input byte {at}")))?;
        let token: ContinueToken =
            serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
        if token.v != "meta.k8s.io/v1" {
            return Err(invalid(format!("got version {}", token.v)));
        }
        Ok(token)
    }
}

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 with the URL-safe alphabet and no padding (Go's `base64.RawURLEncoding`).
fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(BASE64URL[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

/// The inverse of [`base64url_encode`]; `Err` holds the offset of the first bad byte.
fn base64url_decode(text: &str) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for (i, c) in text.bytes().enumerate() {
        let v = BASE64URL.iter().position(|&a| a == c).ok_or(i)?;
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            // Masked to one byte: the cast keeps exactly the decoded byte.
            out.push((acc >> bits) as u8);
        }
    }
    if text.len() % 4 == 1 {
        return Err(text.len() - 1);
    }
    Ok(out)
}

async fn list(
    namespace: Option<&str>,
    params: &Params,
    shared: &Shared,
    fault: Option<Fault>,
    kill: ConnectionKill,
) -> Result<Response<Body>, ApiStatus> {
    let drop_after = match fault {
        Some(Fault::DropAfter(n)) => Some(n),
        other => {
            reject_stream_fault(other.as_ref(), RequestKind::List)?;
            None
        }
    };
    let selector = params.selector()?;
    let limit = usize::try_from(params.number("limit")?.unwrap_or(0)).unwrap_or(usize::MAX);
    let rv_param = params.get("resourceVersion");
    let rv_match = params.get("resourceVersionMatch");
    let continue_token = params.get("continue");
    let (current, compacted, _) = shared.cluster.versions();

    if continue_token.is_some() && rv_match.is_some() {
        return Err(ApiStatus::invalid(
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: \
             resourceVersionMatch is forbidden when continue is provided",
        ));
    }
    if rv_match.is_some() && rv_param.is_none() {
        return Err(ApiStatus::invalid(
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: \
             resourceVersionMatch is forbidden unless resourceVersion is provided",
        ));
    }
    let requested_rv = rv_param
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                ApiStatus::bad_request(format!(
                    "invalid resource version: {}",
                    invalid_resource_version(v)
                ))
            })
        })
        .transpose()?;

    // Continue keys are relative to the listed prefix, as in kube-apiserver's
    // tokens (`web.1\0` in a namespace, `default/web.1\0` across namespaces).
    let prefix = namespace.map(namespace_prefix);
    let absolute = |start: String| format!("{}{start}", prefix.as_deref().unwrap_or(""));
    // Which snapshot this page is cut from, and from which key.
    let (snapshot, from) = if let Some(token) = continue_token {
        let token = ContinueToken::decode(token)?;
        if requested_rv.is_some_and(|rv| rv != 0) {
            return Err(ApiStatus::bad_request(
                "specifying resource version is not allowed when using continue",
            ));
        }
        match u64::try_from(token.rv) {
            // An inconsistent continuation: no snapshot, the current state.
            Err(_) => (current, Some(absolute(token.start))),
            Ok(rv) if rv < compacted => {
                let mut status = ApiStatus::expired(
                    "The provided continue parameter is too old to display a consistent list \
                     result. You can start a new list without the continue parameter, or use \
                     the continue token in this response to retrieve the remainder of the \
                     results. Continuing with the provided token results in an inconsistent \
                     list - objects that were created, modified, or deleted between the time \
                     the first chunk was returned and now may show up in the list.",
                );
                let fresh = ContinueToken { rv: -1, ..token };
                status.continue_token = Some(fresh.encode());
                return Err(status);
            }
            Ok(rv) => (rv, Some(absolute(token.start))),
        }
    } else {
        // A version with `Exact`, or (the legacy meaning) a version with a limit,
        // lists exactly that snapshot; otherwise any version at least as new.
        let exact = match rv_match {
            Some("Exact") => true,
            Some("NotOlderThan") => false,
            Some(other) => {
                return Err(ApiStatus::invalid(format!(
                    "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: \
                     Unsupported value: \"{other}\": supported values: \"Exact\", \"NotOlderThan\""
                )));
            }
            None => limit > 0,
        };
        match requested_rv {
            None | Some(0) => (current, None),
            Some(rv) if rv > current => {
                return Err(ApiStatus::too_large_resource_version(rv, current));
            }
            Some(rv) if exact => {
                if rv < compacted {
                    return Err(ApiStatus::expired(
                        "The resourceVersion for the provided list is too old.",
                    ));
                }
                (rv, None)
            }
            Some(_) => (current, None),
        }
    };

    let page = shared.cluster.page(
        prefix.as_deref(),
        &selector,
        snapshot,
        from.as_deref(),
        limit,
        selector.is_empty(),
    );

    let mut head = format!(
        "{{\"kind\":\"EventList\",\"apiVersion\":\"v1\",\"metadata\":{{\"resourceVersion\":\"{snapshot}\""
    );
    if page.more
        && let Some(last) = page.items.last()
    {
        let relative = last
            .key
            .strip_prefix(prefix.as_deref().unwrap_or(""))
            .unwrap_or(&last.key);
        let token = ContinueToken::new(i64::try_from(snapshot).unwrap_or(-1), relative);
        head.push_str(&format!(",\"continue\":\"{}\"", token.encode()));
        if selector.is_empty() {
            head.push_str(&format!(",\"remainingItemCount\":{}", page.remaining));
        }
    }
    head.push_str("},\"items\":[");

    let items = page.items.iter().map(|s| s.json.as_ref());
    match drop_after {
        None => {
            let total: usize = page.items.iter().map(|s| s.json.len() + 1).sum();
            let mut body = String::with_capacity(head.len() + total + 2);
            body.push_str(&head);
            for (i, item) in items.enumerate() {
                if i > 0 {
                    body.push(',');
                }
                body.push_str(item);
            }
            body.push_str("]}");
            Ok(body::json_response(StatusCode::OK, body))
        }
        Some(n) => {
            let mut partial = head;
            for item in items.take(n) {
                partial.push_str(item);
                partial.push(',');
            }
            let (out, resp) = body::streaming_response(kill);
            tokio::spawn(async move {
                if out.send(partial).await {
                    out.abort().await;
                }
            });
            Ok(resp)
        }
    }
}

/// The apiserver's complaint about a resourceVersion that is not a number.
fn invalid_resource_version(v: &str) -> String {
    format!(
        "resourceVersion: Invalid value: \"{v}\": strconv.ParseUint: parsing \"{v}\": invalid syntax"
    )
}

fn watch(
    namespace: Option<&str>,
    params: &Params,
    shared: &Shared,
    fault: Option<Fault>,
    kill: ConnectionKill,
) -> Result<Response<Body>, ApiStatus> {
    let selector = params.selector()?;
    let initial_events = matches!(params.get("sendInitialEvents"), Some("true" | "1"));
    if initial_events {
        // A streaming list: the apiserver insists on this.
        if params.get("resourceVersionMatch") != Some("NotOlderThan") {
            return Err(ApiStatus::invalid(
                "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: \
                 sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
    }
    let start = match params.get("resourceVersion") {
        _ if initial_events => Start::Current,
        None | Some("0") => Start::Current,
        // kube-apiserver answers this one with a reasonless 500.
        Some(v) => Start::After(
            v.parse()
                .map_err(|_| ApiStatus::new(500, "", invalid_resource_version(v)))?,
        ),
    };
    match &fault {
        None
        | Some(
            Fault::ExpiredEvent
            | Fault::EmptyWatch
            | Fault::DropAfter(_)
            | Fault::EndAfter(_)
            | Fault::MalformedAfter(_)
            | Fault::PauseAfter(..),
        ) => {}
        Some(other) => reject_stream_fault(Some(other), RequestKind::Watch)?,
    }
    let (_, compacted, mode) = shared.cluster.versions();
    if let Start::After(rv) = start
        && rv < compacted
        && mode == ExpiredWatch::HttpGone
        && fault.is_none()
    {
        return Err(mode.status(rv, compacted));
    }
    let plan = WatchPlan {
        cluster: Some(shared.cluster.clone()),
        prefix: namespace.map(namespace_prefix),
        selector,
        start,
        deadline: deadline(params)?,
        fault,
        // The end of the initial events is a bookmark: only sent if allowed.
        initial_events_end: initial_events
            && matches!(params.get("allowWatchBookmarks"), Some("true" | "1")),
        shutdown: shared.shutdown.clone(),
    };
    Ok(start_watch(plan, kill))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert!(matches!(Route::parse("/api/v1"), Route::GroupVersion(_)));
        assert!(Route::parse("/api/v1/events").is_events());
        assert!(Route::parse("/api/v1/namespaces/ns/events").is_events());
        assert!(matches!(
            Route::parse("/api/v1/namespaces/ns/events/x"),
            Route::Object {
                name: "x",
                namespace: Some("ns"),
                ..
            }
        ));
        assert!(matches!(
            Route::parse("/api/v1/nodes/n1"),
            Route::Object {
                name: "n1",
                namespace: None,
                ..
            }
        ));
        assert!(matches!(Route::parse("/api/v1/pods/x"), Route::Unknown));
        let ns = Route::parse("/api/v1/namespaces/kube-system");
        assert_eq!(ns.namespace_name(), Some("kube-system"));
        assert_eq!(ns.kind(false), RequestKind::Namespace);
        assert_eq!(Route::parse("/api/v1/namespaces").namespace_name(), None);
        assert_eq!(
            Route::parse("/api/v1/namespaces/a/events").kind(false),
            RequestKind::List
        );
        assert!(matches!(
            Route::parse("/apis/apps/v1/deployments"),
            Route::Collection { .. }
        ));
        assert!(!Route::parse("/apis/events.k8s.io/v1/events").is_events());
        assert!(matches!(Route::parse("/apis/nope/v1"), Route::Unknown));
    }

    #[test]
    fn continue_tokens_round_trip() {
        let t = ContinueToken::new(42, "ns/a.b");
        let back = ContinueToken::decode(&t.encode()).unwrap();
        assert_eq!((back.rv, back.start.as_str()), (42, "ns/a.b\0"));
        // A token kube-apiserver 1.36 handed out.
        let real = ContinueToken::decode(
            "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MjExLCJzdGFydCI6ImRlZmF1bHQvd2ViLjJcdTAwMDAifQ",
        )
        .unwrap();
        assert_eq!((real.rv, real.start.as_str()), (211, "default/web.2\0"));
        assert_eq!(
            real.encode(),
            "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MjExLCJzdGFydCI6ImRlZmF1bHQvd2ViLjJcdTAwMDAifQ"
        );
        let err = ContinueToken::decode("abc").unwrap_err();
        assert!(
            err.message
                .starts_with("invalid continue token: continue key is not valid: ")
        );
        assert!(ContinueToken::decode("a!").is_err());
        for len in 0..8 {
            let bytes: Vec<u8> = (0..len)
                .map(|i: u8| i.wrapping_mul(37).wrapping_add(200))
                .collect();
            assert_eq!(base64url_decode(&base64url_encode(&bytes)).unwrap(), bytes);
        }
    }
}
