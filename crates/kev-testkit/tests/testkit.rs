//! Tests of `kev_testkit`, the fake apiserver kev's integration tests stand on.
//!
//! Two kinds of client check it: kube-rs (the client kev uses), to prove the
//! fake is real enough, and a raw HTTP/1.1 reader, to pin the wire details
//! kube-rs would hide (an aborted versus a complete chunked body, a malformed
//! line, headers). The check against a real `kubectl` lives in the end-to-end suite
//! (tests/e2e), where the control-plane script provides kubectl.

use std::io::{Read, Write};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Event, Namespace};
use kev_testkit::{
    ApiStatus, Clock, DEFAULT_CLUSTER_UID, EXPIRY_TICK, ExpiredWatch, FakeApiServer, FakeCluster,
    Fault, Gate, On, RequestKind, TOKEN, realistic_events,
};
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn event(ns: &str, name: &str, type_: &str, kind: &str) -> Value {
    json!({
        "kind": "Event", "apiVersion": "v1",
        "metadata": {"namespace": ns, "name": name},
        "involvedObject": {"kind": kind, "namespace": ns, "name": name.split('.').next().unwrap()},
        "reason": "Started", "message": "m", "type": type_,
        "source": {"component": "kubelet"}, "count": 1,
        "firstTimestamp": "2026-11-28T09:00:00Z", "lastTimestamp": "2026-11-28T09:00:00Z"
    })
}

/// Events in several namespaces, added out of key order on purpose.
fn cluster() -> FakeCluster {
    FakeCluster::new().with_events([
        event("b", "web.2", "Normal", "Pod"),
        event("a", "web.1", "Warning", "Pod"),
        event("a-b", "db.1", "Normal", "Pod"),
        event("b", "api.1", "Warning", "Deployment"),
        event("a", "node.1", "Normal", "Node"),
    ])
}

fn names(list: &[Event]) -> Vec<String> {
    list.iter()
        .map(|e| {
            format!(
                "{}/{}",
                e.metadata.namespace.as_deref().unwrap(),
                e.metadata.name.as_deref().unwrap()
            )
        })
        .collect()
}

/// A response read off the wire.
#[derive(Debug)]
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    /// Whether the chunked body ended with its terminating chunk (not aborted).
    complete: bool,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn lines(&self) -> Vec<Value> {
        self.body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or(Value::String(l.into())))
            .collect()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// Parse raw response bytes (head, then a chunked or sized body).
fn parse_raw(bytes: &[u8]) -> Raw {
    let text = String::from_utf8_lossy(bytes);
    let (head, mut rest) = text.split_once("\r\n\r\n").expect("a response head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v == "chunked");
    if !chunked {
        return Raw {
            status,
            headers,
            body: rest.to_owned(),
            complete: true,
        };
    }
    let mut body = String::new();
    let mut complete = false;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 {
            complete = after.starts_with("\r\n");
            break;
        }
        if after.len() < size + 2 {
            body.push_str(&after[..after.len().min(size)]);
            break;
        }
        body.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
    Raw {
        status,
        headers,
        body,
        complete,
    }
}

fn request_bytes(uri: &str) -> String {
    format!(
        "GET {uri} HTTP/1.1\r\nHost: fake\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )
}

/// GET `uri` and read until the server closes (cleanly or not), or until the
/// body holds `lines` newlines when given.
async fn raw_get_lines(server: &FakeApiServer, uri: &str, lines: Option<usize>) -> Raw {
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    stream
        .write_all(request_bytes(uri).as_bytes())
        .await
        .unwrap();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
        }
        if let Some(want) = lines {
            let raw = parse_raw(&bytes);
            if raw.body.matches('\n').count() >= want {
                return raw;
            }
        }
    }
    parse_raw(&bytes)
}

async fn raw_get(server: &FakeApiServer, uri: &str) -> Raw {
    raw_get_lines(server, uri, None).await
}

async fn next<S>(stream: &mut S) -> WatchEvent<Event>
where
    S: futures::Stream<Item = kube::Result<WatchEvent<Event>>> + Unpin,
{
    stream
        .try_next()
        .await
        .unwrap()
        .expect("the watch ended early")
}

fn api_error(err: kube::Error) -> Box<kube::core::Status> {
    match err {
        kube::Error::Api(status) => status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn kube_list_pages_return_every_item_once_in_key_order() {
    let server = FakeApiServer::start(cluster()).await;
    let api = Api::<Event>::all(server.kube_client().await.unwrap());

    let first = api.list(&ListParams::default().limit(2)).await.unwrap();
    let snapshot = first.metadata.resource_version.clone().unwrap();
    assert_eq!(first.metadata.remaining_item_count, Some(3));
    let mut seen = names(&first.items);
    // A write between pages is not in this list: every page is cut from the
    // snapshot of the first.
    server
        .cluster()
        .add_event(event("a", "late.1", "Normal", "Pod"))
        .unwrap();
    let mut token = first.metadata.continue_.clone();
    while let Some(t) = token.filter(|t| !t.is_empty()) {
        let page = api
            .list(&ListParams::default().limit(2).continue_token(&t))
            .await
            .unwrap();
        assert_eq!(page.metadata.resource_version.as_deref(), Some(&*snapshot));
        seen.extend(names(&page.items));
        token = page.metadata.continue_;
    }
    // etcd's byte order of `namespace/name`: "a-b/" sorts before "a/".
    assert_eq!(
        seen,
        ["a-b/db.1", "a/node.1", "a/web.1", "b/api.1", "b/web.2"]
    );

    let all = api.list(&ListParams::default()).await.unwrap();
    assert_eq!(all.items.len(), 6);
    assert_eq!(all.metadata.continue_, None);
    let ns = Api::<Event>::namespaced(server.kube_client().await.unwrap(), "b");
    assert_eq!(
        names(&ns.list(&ListParams::default()).await.unwrap().items),
        ["b/api.1", "b/web.2"]
    );

    // Paging within a namespace.
    let ns = Api::<Event>::namespaced(server.kube_client().await.unwrap(), "a");
    let ns_first = ns.list(&ListParams::default().limit(1)).await.unwrap();
    let token = ns_first.metadata.continue_.clone().unwrap();
    let ns_second = ns
        .list(&ListParams::default().limit(1).continue_token(&token))
        .await
        .unwrap();
    let mut paged = names(&ns_first.items);
    paged.extend(names(&ns_second.items));
    assert_eq!(paged, ["a/late.1", "a/node.1"]);

    let lists: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.is_list())
        .collect();
    assert_eq!(lists[0].path, "/api/v1/events");
    assert_eq!(lists[0].param("limit"), Some("2"));
    assert_eq!(
        lists[1].param("continue"),
        first.metadata.continue_.as_deref()
    );
    assert_eq!(
        lists[0].authorization.as_deref(),
        Some(&*format!("Bearer {TOKEN}"))
    );
    assert_eq!(lists.last().unwrap().path, "/api/v1/namespaces/a/events");
}

#[tokio::test]
async fn list_items_have_no_type_meta_and_a_list_has_its_own() {
    let server = FakeApiServer::start(cluster()).await;
    let raw = raw_get(&server, "/api/v1/events?limit=1").await;
    assert_eq!(raw.status, 200);
    assert_eq!(raw.header("content-type"), Some("application/json"));
    let list = raw.json();
    assert_eq!(list["kind"], "EventList");
    assert_eq!(list["apiVersion"], "v1");
    assert!(list["items"][0].get("kind").is_none());
    assert_eq!(list["items"][0]["metadata"]["resourceVersion"], "1003");
    assert_eq!(list["metadata"]["remainingItemCount"], 4);
}

#[tokio::test]
async fn field_selectors_filter_and_unknown_fields_are_refused() {
    let server = FakeApiServer::start(cluster()).await;
    let api = Api::<Event>::all(server.kube_client().await.unwrap());
    let lp = ListParams::default().fields("type=Warning,involvedObject.kind!=Deployment");
    let list = api.list(&lp).await.unwrap();
    assert_eq!(names(&list.items), ["a/web.1"]);
    assert_eq!(
        server.requests().last().unwrap().param("fieldSelector"),
        Some("type=Warning,involvedObject.kind!=Deployment")
    );

    // With a selector, a paged list reports no remainingItemCount, like the apiserver.
    let page = api
        .list(&ListParams::default().fields("type=Normal").limit(1))
        .await
        .unwrap();
    assert_eq!(page.metadata.remaining_item_count, None);
    assert!(page.metadata.continue_.is_some());

    let err = api_error(
        api.list(&ListParams::default().fields("foo=bar"))
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (400, "BadRequest"));
    assert_eq!(err.message, "field label not supported: foo");
}

#[tokio::test]
async fn kube_watch_gets_history_after_the_resource_version_then_live_changes() {
    let server = FakeApiServer::start(cluster()).await;
    let cluster = server.cluster().clone();
    let from = cluster.resource_version();
    cluster
        .add_event(event("c", "x.1", "Normal", "Pod"))
        .unwrap();
    cluster
        .add_event(event("c", "x.2", "Warning", "Pod"))
        .unwrap();

    let api = Api::<Event>::all(server.kube_client().await.unwrap());
    let mut stream = api
        .watch(&WatchParams::default(), &from.to_string())
        .await
        .unwrap()
        .boxed();
    for want in ["x.1", "x.2"] {
        match next(&mut stream).await {
            WatchEvent::Added(e) => assert_eq!(e.metadata.name.as_deref(), Some(want)),
            other => panic!("{other:?}"),
        }
    }
    // The history has been read off the stream: what follows is live.
    let bumped = cluster.bump_event("c", "x.1").unwrap();
    match next(&mut stream).await {
        WatchEvent::Modified(e) => {
            assert_eq!(e.count, Some(2));
            assert_eq!(
                e.metadata.resource_version,
                bumped["metadata"]["resourceVersion"]
                    .as_str()
                    .map(String::from)
            );
        }
        other => panic!("{other:?}"),
    }
    cluster.delete_event("c", "x.2").unwrap();
    assert!(matches!(next(&mut stream).await, WatchEvent::Deleted(_)));

    let watch = server.wait_for_request(|r| r.is_watch()).await;
    assert_eq!(watch.param("resourceVersion"), Some(&*from.to_string()));
    assert_eq!(watch.param("watch"), Some("true"));
}

#[tokio::test]
async fn watch_without_resource_version_starts_with_the_current_events() {
    let server = FakeApiServer::start(cluster()).await;
    server.script().on_watch(Fault::EndAfter(1));
    let raw = raw_get(
        &server,
        "/api/v1/namespaces/a/events?watch=1&fieldSelector=type%3DNormal",
    )
    .await;
    let lines = raw.lines();
    assert!(raw.complete);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["type"], "ADDED");
    assert_eq!(lines[0]["object"]["kind"], "Event");
    assert_eq!(lines[0]["object"]["apiVersion"], "v1");
    assert_eq!(lines[0]["object"]["metadata"]["name"], "node.1");
}

#[tokio::test]
async fn streaming_list_ends_initial_events_with_a_bookmark() {
    let server = FakeApiServer::start(cluster()).await;
    let uri = "/api/v1/namespaces/a/events?watch=1&sendInitialEvents=true\
               &resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true";
    let lines = raw_get_lines(&server, uri, Some(3)).await.lines();
    let types: Vec<_> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["ADDED", "ADDED", "BOOKMARK"]);
    let bookmark = &lines[2]["object"]["metadata"];
    assert_eq!(bookmark["annotations"]["k8s.io/initial-events-end"], "true");
    assert_eq!(bookmark["resourceVersion"], "1005");

    let raw = raw_get(&server, "/api/v1/events?watch=1&sendInitialEvents=true").await;
    assert_eq!(
        (raw.status, raw.json()["reason"].as_str()),
        (422, Some("Invalid"))
    );

    // Without allowWatchBookmarks there is no bookmark: the live stream follows directly.
    server.script().on_watch(Fault::EndAfter(2));
    let uri = "/api/v1/namespaces/a/events?watch=1&sendInitialEvents=true\
               &resourceVersionMatch=NotOlderThan";
    let lines = raw_get(&server, uri).await.lines();
    assert!(lines.iter().all(|l| l["type"] == "ADDED") && lines.len() == 2);

    // Malformed numbers, worded as kube-apiserver words them.
    let raw = raw_get(&server, "/api/v1/events?limit=abc").await;
    assert_eq!(
        raw.json()["message"],
        "strconv.ParseInt: parsing \"abc\": invalid syntax"
    );
    let raw = raw_get(&server, "/api/v1/events?watch=1&resourceVersion=abc").await;
    assert_eq!((raw.status, raw.json().get("reason")), (500, None));
}

#[tokio::test]
async fn expired_watch_as_an_error_event() {
    let server = FakeApiServer::start(cluster()).await;
    server.cluster().compact();
    let raw = raw_get(&server, "/api/v1/events?watch=true&resourceVersion=1002").await;
    assert_eq!(raw.status, 200);
    assert!(raw.complete);
    assert_eq!(
        raw.lines(),
        [json!({"type": "ERROR", "object": {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "The resourceVersion for the provided watch is too old.",
            "reason": "Expired", "code": 410
        }})]
    );
    // The watch cache's wording, when asked for.
    server
        .cluster()
        .set_expired_watch(ExpiredWatch::CacheErrorEvent);
    let raw = raw_get(&server, "/api/v1/events?watch=true&resourceVersion=1002").await;
    assert_eq!(
        raw.lines()[0]["object"]["message"],
        "too old resource version: 1002 (1005)"
    );
    server.cluster().set_expired_watch(ExpiredWatch::ErrorEvent);

    // kube-rs surfaces it as a WatchEvent::Error.
    let api = Api::<Event>::all(server.kube_client().await.unwrap());
    let mut stream = api
        .watch(&WatchParams::default(), "1002")
        .await
        .unwrap()
        .boxed();
    match stream.try_next().await.unwrap() {
        Some(WatchEvent::Error(status)) => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"))
        }
        other => panic!("{other:?}"),
    }
    // From the compaction point itself, the watch works.
    server.script().on_watch(Fault::EndAfter(0));
    let raw = raw_get(&server, "/api/v1/events?watch=true&resourceVersion=1005").await;
    assert_eq!((raw.status, raw.body.as_str()), (200, ""));
}

#[tokio::test]
async fn expired_watch_as_http_410_and_expired_lists() {
    let server = FakeApiServer::start(cluster().with_expired_watch(ExpiredWatch::HttpGone)).await;
    let first = raw_get(&server, "/api/v1/events?limit=2").await.json();
    server
        .cluster()
        .add_event(event("z", "z.1", "Normal", "Pod"))
        .unwrap();
    server.cluster().compact();

    let raw = raw_get(&server, "/api/v1/events?watch=true&resourceVersion=1001").await;
    assert_eq!(raw.status, 410);
    assert_eq!(raw.json()["reason"], "Expired");
    assert_eq!(
        raw.json()["message"],
        "too old resource version: 1001 (1006)"
    );

    let token = first["metadata"]["continue"].as_str().unwrap();
    let raw = raw_get(&server, &format!("/api/v1/events?limit=2&continue={token}")).await;
    assert_eq!(
        (raw.status, raw.json()["reason"].as_str()),
        (410, Some("Expired"))
    );
    assert!(
        raw.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("The provided continue parameter is too old")
    );
    // The token in the Status continues the list without a snapshot.
    let fresh = raw.json()["metadata"]["continue"]
        .as_str()
        .unwrap()
        .to_owned();
    let rest = raw_get(&server, &format!("/api/v1/events?continue={fresh}"))
        .await
        .json();
    let rest: Vec<_> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].clone())
        .collect();
    assert_eq!(rest, ["web.1", "api.1", "web.2", "z.1"]);

    // A list at exactly the compaction point still works; before it, it is gone.
    let at = |rv| format!("/api/v1/events?limit=2&resourceVersion={rv}&resourceVersionMatch=Exact");
    assert_eq!(raw_get(&server, &at(1006)).await.status, 200);
    assert_eq!(raw_get(&server, &at(1005)).await.status, 410);
    let raw = raw_get(
        &server,
        "/api/v1/events?resourceVersion=9999&resourceVersionMatch=NotOlderThan",
    )
    .await;
    assert_eq!(
        (raw.status, raw.json()["reason"].as_str()),
        (504, Some("Timeout"))
    );
}

#[tokio::test]
async fn scripted_watch_faults_on_the_wire() {
    let server = FakeApiServer::start(cluster()).await;
    let script = server.script();
    script
        .push(On::Watch, Fault::DropAfter(2))
        .push(On::Watch, Fault::EndAfter(2))
        .push(On::Watch, Fault::EmptyWatch)
        .push(On::Watch, Fault::ExpiredEvent)
        .push(On::Watch, Fault::MalformedAfter(1))
        .push(On::Watch, Fault::DropAfter(0));
    let uri = "/api/v1/events?watch=true&resourceVersion=1000";

    let dropped = raw_get(&server, uri).await;
    assert_eq!(
        (dropped.status, dropped.lines().len(), dropped.complete),
        (200, 2, false)
    );

    let ended = raw_get(&server, uri).await;
    assert_eq!((ended.lines().len(), ended.complete), (2, true));

    let empty = raw_get(&server, uri).await;
    assert_eq!(
        (empty.status, empty.body.as_str(), empty.complete),
        (200, "", true)
    );

    let expired = raw_get(&server, uri).await;
    assert_eq!(expired.lines()[0]["object"]["code"], 410);

    let malformed = raw_get_lines(&server, uri, Some(3)).await;
    let lines = malformed.lines();
    assert_eq!(lines[0]["type"], "ADDED");
    assert!(lines[1].is_string(), "not JSON: {:?}", lines[1]);
    assert_eq!(lines[2]["type"], "ADDED");

    let head_only = raw_get(&server, uri).await;
    assert_eq!(
        (
            head_only.status,
            head_only.body.as_str(),
            head_only.complete
        ),
        (200, "", false)
    );
    assert_eq!(script.pending(), 0);
}

#[tokio::test]
async fn dropped_list_body_and_kube_sees_an_error() {
    let server = FakeApiServer::start(cluster()).await;
    server
        .script()
        .on_list(Fault::DropAfter(1))
        .on_list(Fault::DropAfter(1));
    let raw = raw_get(&server, "/api/v1/events").await;
    assert!(!raw.complete);
    assert!(raw.body.starts_with("{\"kind\":\"EventList\""));
    assert!(serde_json::from_str::<Value>(&raw.body).is_err());

    let api = Api::<Event>::all(server.kube_client().await.unwrap());
    let err = api.list(&ListParams::default()).await.unwrap_err();
    assert!(!matches!(err, kube::Error::Api(_)), "{err:?}");
    assert_eq!(
        api.list(&ListParams::default()).await.unwrap().items.len(),
        5
    );
}

#[tokio::test]
async fn error_statuses_read_like_the_apiserver() {
    let server = FakeApiServer::start(cluster()).await;
    server
        .script()
        .on_list(Fault::forbidden())
        .on_watch(Fault::forbidden())
        .on_list(Fault::unavailable(7))
        .on_list(Fault::Gone)
        .push(On::Get, Fault::internal_error());

    let api = Api::<Event>::all(server.kube_client().await.unwrap());
    let err = api_error(api.list(&ListParams::default()).await.unwrap_err());
    assert_eq!((err.code, err.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        err.message,
        "events is forbidden: User \"system:anonymous\" cannot list resource \"events\" in API group \"\" at the cluster scope"
    );
    let ns = Api::<Event>::namespaced(server.kube_client().await.unwrap(), "a");
    let err = api_error(ns.watch(&WatchParams::default(), "0").await.err().unwrap());
    assert_eq!(
        err.message,
        "events is forbidden: User \"system:anonymous\" cannot watch resource \"events\" in API group \"\" in the namespace \"a\""
    );

    let raw = raw_get(&server, "/api/v1/events").await;
    assert_eq!((raw.status, raw.header("retry-after")), (503, Some("7")));
    assert_eq!(raw.json()["reason"], "ServiceUnavailable");
    let raw = raw_get(&server, "/api/v1/events").await;
    assert_eq!(
        (raw.status, raw.json()["reason"].as_str()),
        (410, Some("Expired"))
    );

    let raw = raw_get(&server, "/api/v1/namespaces/a/events/web.1").await;
    assert_eq!(
        (raw.status, raw.json()["reason"].as_str()),
        (500, Some("InternalError"))
    );
    let raw = raw_get(&server, "/api/v1/namespaces/a/events/web.1").await;
    assert_eq!(
        (
            raw.json()["kind"].as_str(),
            raw.json()["metadata"]["name"].as_str()
        ),
        (Some("Event"), Some("web.1"))
    );
    let raw = raw_get(&server, "/api/v1/namespaces/a/events/nope").await;
    assert_eq!(raw.json()["message"], "events \"nope\" not found");
    let raw = raw_get(&server, "/api/v1/widgets").await;
    assert_eq!(
        (raw.status, raw.json()["kind"].as_str()),
        (404, Some("Status"))
    );

    let statuses: Vec<_> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses[..3], [Some(403), Some(403), Some(503)]);
}

#[tokio::test]
async fn gates_hold_requests_and_pause_streams_until_opened() {
    let server = FakeApiServer::start(cluster()).await;
    let (hold, pause) = (Gate::new(), Gate::new());
    server
        .script()
        .on_list(Fault::Hold(hold.clone()))
        .on_watch(Fault::PauseAfter(1, pause.clone()));
    let api = Api::<Event>::all(server.kube_client().await.unwrap());

    let list = tokio::spawn({
        let api = api.clone();
        async move { api.list(&ListParams::default()).await }
    });
    hold.arrived(1).await;
    let held = server.wait_for_request(|r| r.is_list()).await;
    assert_eq!(held.status, None, "no response yet");
    hold.open();
    assert_eq!(list.await.unwrap().unwrap().items.len(), 5);

    let mut stream = api
        .watch(&WatchParams::default(), "1003")
        .await
        .unwrap()
        .boxed();
    assert!(matches!(
        stream.try_next().await.unwrap(),
        Some(WatchEvent::Added(_))
    ));
    pause.arrived(1).await;
    // Written while the stream is paused, delivered after it resumes.
    server.cluster().bump_event("a", "web.1").unwrap();
    pause.open();
    assert!(matches!(
        stream.try_next().await.unwrap(),
        Some(WatchEvent::Added(_))
    ));
    assert!(matches!(
        stream.try_next().await.unwrap(),
        Some(WatchEvent::Modified(_))
    ));
}

#[tokio::test]
async fn discovery_documents() {
    let server = FakeApiServer::start(FakeCluster::new()).await;
    let core = raw_get(&server, "/api/v1").await.json();
    let events = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "events")
        .unwrap();
    assert_eq!(
        (events["kind"].as_str(), events["namespaced"].as_bool()),
        (Some("Event"), Some(true))
    );
    assert_eq!(events["shortNames"], json!(["ev"]));
    let apps = raw_get(&server, "/apis/apps/v1").await.json();
    assert!(
        apps["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["shortNames"] == json!(["deploy"]))
    );
    let groups = raw_get(&server, "/apis").await.json();
    let names: Vec<_> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["apps", "events.k8s.io", "batch"]);
    assert_eq!(
        raw_get(&server, "/version").await.json()["gitVersion"],
        "v1.33.0"
    );
    assert_eq!(raw_get(&server, "/openapi/v3").await.status, 404);

    // kube-rs's discovery walks the same documents.
    let discovery = kube::Discovery::new(server.kube_client().await.unwrap())
        .run()
        .await
        .unwrap();
    let (ar, _) = discovery
        .groups()
        .flat_map(|g| g.recommended_resources())
        .find(|(ar, _)| ar.kind == "StatefulSet")
        .unwrap();
    assert_eq!(ar.plural, "statefulsets");
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.kind == RequestKind::Discovery)
    );
}

#[tokio::test]
async fn generated_events_are_served_intact() {
    let events = realistic_events(300, 3, now());
    let server = FakeApiServer::start(FakeCluster::new().with_events(events.clone())).await;
    let api = Api::<Event>::all(server.kube_client().await.unwrap());
    let list = api.list(&ListParams::default().limit(1000)).await.unwrap();
    assert_eq!(list.items.len(), 300);
    // The generator's resourceVersions are the ones the store assigns.
    let served: std::collections::HashMap<_, _> = server
        .cluster()
        .events()
        .into_iter()
        .map(|e| {
            (
                e["metadata"]["uid"].clone(),
                e["metadata"]["resourceVersion"].clone(),
            )
        })
        .collect();
    for e in &events {
        assert_eq!(
            served[&e["metadata"]["uid"]],
            e["metadata"]["resourceVersion"]
        );
    }
}

/// The blocking server, used from a plain `#[test]` the way binary tests use it.
#[test]
fn blocking_server_serves_sync_tests() {
    let server = FakeApiServer::start_blocking(cluster());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(text.contains(&format!("server: {}", server.url())));
    assert!(text.contains("current-context: fake"));

    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    stream
        .write_all(
            request_bytes("/api/v1/namespaces/a/events?fieldSelector=reason%3DStarted").as_bytes(),
        )
        .unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    let raw = parse_raw(&bytes);
    assert_eq!(raw.json()["items"].as_array().unwrap().len(), 2);

    let seen = server.wait_for_request_blocking(Duration::from_secs(5), |r| r.is_list());
    assert_eq!(seen.unwrap().param("fieldSelector"), Some("reason=Started"));
    let addr = server.addr();
    server.shutdown();
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[tokio::test]
async fn the_kube_system_namespace_tells_the_cluster_uid() {
    let server =
        FakeApiServer::start(cluster().with_cluster_uid("c0ffee00-0000-4000-8000-000000000001"))
            .await;
    let client = server.kube_client().await.unwrap();
    let namespaces = Api::<Namespace>::all(client);
    let ns = namespaces.get("kube-system").await.unwrap();
    assert_eq!(
        ns.metadata.uid.as_deref(),
        Some("c0ffee00-0000-4000-8000-000000000001")
    );
    assert_eq!(
        server.cluster().cluster_uid(),
        "c0ffee00-0000-4000-8000-000000000001"
    );
    let err = api_error(namespaces.get("default").await.unwrap_err());
    assert_eq!((err.code, err.reason.as_str()), (404, "NotFound"));
    assert_eq!(err.message, "namespaces \"default\" not found");
    let get = server
        .wait_for_request(|r| r.path == "/api/v1/namespaces/kube-system")
        .await;
    assert_eq!((get.kind, get.status), (RequestKind::Namespace, Some(200)));

    // RBAC that does not allow reading namespaces, worded as the apiserver
    // words it (a namespace is authorized in itself).
    server.script().push(On::Namespace, Fault::forbidden());
    let raw = raw_get(&server, "/api/v1/namespaces/kube-system").await;
    assert_eq!(raw.status, 403);
    assert_eq!(
        raw.json()["message"],
        "namespaces \"kube-system\" is forbidden: User \"system:anonymous\" cannot get resource \
         \"namespaces\" in API group \"\" in the namespace \"kube-system\""
    );
    // On::Any is for events requests: it leaves the namespace alone.
    server.script().always(On::Any, Fault::unavailable(1));
    assert_eq!(
        raw_get(&server, "/api/v1/namespaces/kube-system")
            .await
            .status,
        200
    );
    assert_eq!(raw_get(&server, "/api/v1/events").await.status, 503);
    assert_eq!(FakeCluster::new().cluster_uid(), DEFAULT_CLUSTER_UID);
}

#[tokio::test]
async fn throttling_and_timeouts_carry_retry_after() {
    let server = FakeApiServer::start(cluster()).await;
    server
        .script()
        .on_list(Fault::too_many_requests(2))
        .on_list(Fault::Status(ApiStatus::service_unavailable()).with_retry_after(1))
        .on_watch(Fault::gateway_timeout(4))
        .on_list(Fault::Status(ApiStatus::service_unavailable()));
    let raw = raw_get(&server, "/api/v1/events").await;
    assert_eq!((raw.status, raw.header("retry-after")), (429, Some("2")));
    assert_eq!(
        raw.json(),
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "the server has received too many requests and has asked us to try again later",
            "reason": "TooManyRequests", "code": 429,
            "details": {"retryAfterSeconds": 2}
        })
    );
    let raw = raw_get(&server, "/api/v1/events").await;
    assert_eq!((raw.status, raw.header("retry-after")), (503, Some("1")));
    assert_eq!(raw.json()["reason"], "ServiceUnavailable");
    assert_eq!(raw.json()["details"]["retryAfterSeconds"], 1);
    let raw = raw_get(&server, "/api/v1/events?watch=true").await;
    assert_eq!((raw.status, raw.header("retry-after")), (504, Some("4")));
    assert_eq!(raw.json()["reason"], "Timeout");
    assert_eq!(raw.json()["details"]["retryAfterSeconds"], 4);
    // Without a Retry-After: neither the header nor details.
    let raw = raw_get(&server, "/api/v1/events").await;
    assert_eq!((raw.status, raw.header("retry-after")), (503, None));
    assert!(raw.json().get("details").is_none());
    assert_eq!(server.script().pending(), 0);
}

#[tokio::test]
async fn repeating_faults_last_until_removed() {
    let server = FakeApiServer::start(cluster()).await;
    let script = server.script();
    script
        .always(On::Watch, Fault::ExpiredEvent)
        .push_times(On::List, Fault::unavailable(1), 2);
    for _ in 0..3 {
        let raw = raw_get(&server, "/api/v1/events?watch=true&resourceVersion=1003").await;
        assert_eq!(raw.lines()[0]["object"]["code"], 410);
    }
    for want in [503, 503, 200] {
        assert_eq!(raw_get(&server, "/api/v1/events").await.status, want);
    }
    assert_eq!(script.pending(), 0, "the always-rule is not counted");
    // Queued behind the always-rule until it is removed.
    script.push(On::Watch, Fault::EndAfter(1));
    let raw = raw_get(&server, "/api/v1/events?watch=true&resourceVersion=1003").await;
    assert_eq!(raw.lines()[0]["type"], "ERROR");
    assert_eq!(script.remove(On::Watch), 2);
    script.push(On::Watch, Fault::EndAfter(1));
    let raw = raw_get(&server, "/api/v1/events?watch=true&resourceVersion=1003").await;
    assert_eq!(raw.lines()[0]["type"], "ADDED");
    script.always(On::Any, Fault::forbidden());
    assert_eq!(raw_get(&server, "/api/v1/events").await.status, 403);
    script.clear();
    assert_eq!(raw_get(&server, "/api/v1/events").await.status, 200);
}

#[tokio::test]
async fn expired_events_leave_lists_and_gets_and_watches_see_them_deleted() {
    let clock = Clock::manual(now());
    let server = FakeApiServer::start(
        FakeCluster::new()
            .with_clock(clock.clone())
            .with_event_ttl(Duration::from_secs(3600))
            .with_events([
                event("a", "web.1", "Warning", "Pod"),
                event("a", "web.2", "Normal", "Pod"),
            ]),
    )
    .await;
    let cluster = server.cluster().clone();
    let api = Api::<Event>::all(server.kube_client().await.unwrap());
    let from = cluster.resource_version();
    let mut stream = api
        .watch(&WatchParams::default(), &from.to_string())
        .await
        .unwrap()
        .boxed();
    // web.2 is written again half-way: it lives on after web.1 is gone.
    clock.advance(Duration::from_secs(1800));
    cluster.bump_event("a", "web.2").unwrap();
    assert!(matches!(next(&mut stream).await, WatchEvent::Modified(_)));
    clock.advance(Duration::from_secs(1800));
    assert_eq!(cluster.expire_now(), 1);
    match next(&mut stream).await {
        WatchEvent::Deleted(e) => {
            assert_eq!(e.metadata.name.as_deref(), Some("web.1"));
            assert_eq!(
                e.metadata.resource_version,
                Some((from + 2).to_string()),
                "a new resourceVersion, as etcd's lease expiry writes"
            );
        }
        other => panic!("{other:?}"),
    }
    let listed = api.list(&ListParams::default()).await.unwrap();
    assert_eq!(names(&listed.items), ["a/web.2"]);
    let ns = Api::<Event>::namespaced(server.kube_client().await.unwrap(), "a");
    assert_eq!(api_error(ns.get("web.1").await.unwrap_err()).code, 404);

    // No explicit expiry: the next request expires what is due first.
    clock.advance(Duration::from_secs(1800));
    assert_eq!(api_error(ns.get("web.2").await.unwrap_err()).code, 404);
    match next(&mut stream).await {
        WatchEvent::Deleted(e) => assert_eq!(e.metadata.name.as_deref(), Some("web.2")),
        other => panic!("{other:?}"),
    }
    assert_eq!(cluster.expired_count(), 2);
    assert!(cluster.is_empty());
}

/// The server's own tick expires events with no request coming in: the watch
/// waits at most one tick (EXPIRY_TICK) for its DELETED.
#[tokio::test]
async fn the_server_tick_expires_events_for_open_watches() {
    let clock = Clock::manual(now());
    let server = FakeApiServer::start(
        FakeCluster::new()
            .with_clock(clock.clone())
            .with_event_ttl(Duration::from_secs(60))
            .with_events([event("a", "web.1", "Warning", "Pod")]),
    )
    .await;
    let api = Api::<Event>::all(server.kube_client().await.unwrap());
    let from = server.cluster().resource_version();
    let mut stream = api
        .watch(&WatchParams::default(), &from.to_string())
        .await
        .unwrap()
        .boxed();
    // Answered (so past its own expiry check) before the clock moves.
    server
        .wait_for_request(|r| r.is_watch() && r.status.is_some())
        .await;
    clock.advance(Duration::from_secs(60));
    assert_eq!(
        server.cluster().expired_count(),
        0,
        "nothing expires on its own"
    );
    let deleted = tokio::time::timeout(EXPIRY_TICK * 10, next(&mut stream))
        .await
        .expect("expired within a few ticks");
    assert_eq!(
        server.requests().len(),
        1,
        "no request came in to expire it"
    );
    assert!(matches!(deleted, WatchEvent::Deleted(_)), "{deleted:?}");
}
