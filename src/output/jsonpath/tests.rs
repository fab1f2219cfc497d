use super::*;
use crate::model::{Event, ObjectRef, RecordContext};
use serde_json::json;

/// The input of kubectl's JSONPath page
/// (kubernetes.io/docs/reference/kubectl/jsonpath), plus a few values of
/// other types.
fn input() -> Value {
    json!({
        "kind": "List",
        "items": [
            {
                "kind": "None",
                "metadata": {
                    "name": "127.0.0.1",
                    "labels": {"kubernetes.io/hostname": "127.0.0.1"}
                },
                "status": {
                    "capacity": {"cpu": "4"},
                    "addresses": [{"type": "LegacyHostIP", "address": "127.0.0.1"}]
                },
                "count": 3
            },
            {
                "kind": "None",
                "metadata": {"name": "127.0.0.2"},
                "status": {
                    "capacity": {"cpu": "8"},
                    "addresses": [
                        {"type": "LegacyHostIP", "address": "127.0.0.2"},
                        {"type": "another", "address": "127.0.0.3"}
                    ]
                },
                "count": 12
            }
        ],
        "users": [
            {"name": "myself", "user": {}},
            {"name": "e2e", "user": {"username": "admin", "password": "secret"}}
        ],
        "ratio": 0.25,
        "big": 1_000_000.0,
        "ok": true,
        "hostile": "a\u{1b}[31mb\u{202e}c"
    })
}

fn render(template: &str, as_json: bool, allow_missing: bool) -> Result<String, String> {
    let compiled = Compiled::new(template, as_json, false, allow_missing).map_err(|e| {
        format!(
            "parse: {} at column {}",
            e.message,
            column(template, e.span.0)
        )
    })?;
    let mut out = String::new();
    compiled
        .render(&input(), &mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

fn column(text: &str, byte: usize) -> usize {
    text[..byte].chars().count() + 1
}

#[test]
fn templates_print_as_kubectl_prints_them() {
    let cases: &[(&str, &str)] = &[
        // kubectl's own table of functions.
        ("kind is {.kind}", "kind is List"),
        ("{.kind}", "List"),
        ("{['kind']}", "List"),
        ("{$.kind}", "List"),
        ("{..name}", "127.0.0.1 127.0.0.2 myself e2e"),
        ("{.items[*].metadata.name}", "127.0.0.1 127.0.0.2"),
        ("{.users[0].name}", "myself"),
        (
            "{.items[*]['metadata.name', 'status.capacity']}",
            r#"127.0.0.1 127.0.0.2 {"cpu":"4"} {"cpu":"8"}"#,
        ),
        ("{.users[?(@.name==\"e2e\")].user.password}", "secret"),
        (
            "{range .items[*]}[{.metadata.name}, {.status.capacity}] {end}",
            r#"[127.0.0.1, {"cpu":"4"}] [127.0.0.2, {"cpu":"8"}] "#,
        ),
        (
            "{range .items[*]}{.metadata.name}{'\\t'}{end}",
            "127.0.0.1\t127.0.0.2\t",
        ),
        (
            "{.items[0].metadata.labels.kubernetes\\.io/hostname}",
            "127.0.0.1",
        ),
        // Subscripts and slices.
        ("{.items[-1].metadata.name}", "127.0.0.2"),
        ("{.items[0:1].metadata.name}", "127.0.0.1"),
        ("{.items[1:].metadata.name}", "127.0.0.2"),
        ("{.items[:1].metadata.name}", "127.0.0.1"),
        ("{.items[::2].metadata.name}", "127.0.0.1"),
        ("{.items[-2:-1].metadata.name}", "127.0.0.1"),
        ("{.items[0,1].count}", "3 12"),
        ("{.items[1:1]}", ""),
        ("{.users[*].user.*}", "secret admin"),
        (
            "{.items[*].status.addresses[*].address}",
            "127.0.0.1 127.0.0.2 127.0.0.3",
        ),
        // Filters: comparisons, numbers, existence, nested paths.
        ("{.items[?(@.count>5)].metadata.name}", "127.0.0.2"),
        ("{.items[?(@.count<=3)].metadata.name}", "127.0.0.1"),
        ("{.items[?(@.count!=3)].count}", "12"),
        ("{.items[?(@.count>2.5)].count}", "3 12"),
        ("{.items[?(@.metadata.labels)].metadata.name}", "127.0.0.1"),
        ("{.users[?(@.user.password)].name}", "e2e"),
        ("{.users[?(@.name!='e2e')].name}", "myself"),
        ("{.users[?(@.name<\"f\")].name}", "e2e"),
        (
            "{.items[*].status.addresses[?(@.type==\"another\")].address}",
            "127.0.0.3",
        ),
        // Nested ranges, and a range over nothing.
        (
            "{range .items[*]}{.metadata.name}:{range .status.addresses[*]} {.address}{end};{end}",
            "127.0.0.1: 127.0.0.1;127.0.0.2: 127.0.0.2 127.0.0.3;",
        ),
        ("{range .nothing[*]}x{end}done", "done"),
        // Quoted literals, with Go's escapes; constants.
        (r#"{"a\tb\n"}"#, "a\tb\n"),
        (r#"{"\u00e9\x41\101"}"#, "éAA"),
        ("{'single'}", "single"),
        ("{.kind} {\"{\"}x{\"}\"}", "List {x}"),
        ("{.users[*].name 5}", "5 5"),
        ("{true}", "true"),
        ("{1.5}", "1.5"),
        // Values of every type; objects as compact JSON.
        ("{.ratio} {.big} {.ok}", "0.25 1e+06 true"),
        ("{.users[0]}", r#"{"name":"myself","user":{}}"#),
        (
            "{.items[0].status.addresses}",
            r#"[{"address":"127.0.0.1","type":"LegacyHostIP"}]"#,
        ),
        // A missing field prints nothing; text outside actions is kept.
        ("{.nope}", ""),
        ("a{.items[*].nope}b", "ab"),
        ("{.items[*].metadata.labels.nope}", ""),
        ("plain text } too", "plain text } too"),
        // Data is escaped for the terminal, in text and inside JSON.
        ("{.hostile}", "a^[[31mb\\u{202e}c"),
        ("{.users[?(@.name=='x')]}{@.hostile}", "a^[[31mb\\u{202e}c"),
    ];
    for (template, want) in cases {
        let got = render(template, false, true);
        assert_eq!(got.as_deref(), Ok(*want), "{template}");
    }
}

#[test]
fn hostile_text_inside_json_stays_valid_json() {
    let got = render("{.users[0].name}{$}", false, true).unwrap();
    let json = got.strip_prefix("myself").unwrap();
    assert!(
        !json.contains('\u{1b}') && !json.contains('\u{202e}'),
        "{json}"
    );
    assert!(json.contains(r"a\u001b[31mb\u202ec"), "{json}");
    let back: Value = serde_json::from_str(json).unwrap();
    assert_eq!(back, input());
}

#[test]
fn as_json_prints_each_actions_results_as_an_array() {
    assert_eq!(
        render("{.items[*].metadata.name}", true, true).unwrap(),
        "[\n    \"127.0.0.1\",\n    \"127.0.0.2\"\n]\n"
    );
    assert_eq!(render("{.nope}", true, true).unwrap(), "[]\n");
    assert_eq!(
        render("{.users[1].user}", true, true).unwrap(),
        "[\n    {\n        \"password\": \"secret\",\n        \"username\": \"admin\"\n    }\n]\n"
    );
    // Text is an action's result too, as in kubectl.
    assert_eq!(
        render("{range .items[*]}{.count},{end}", true, true).unwrap(),
        "[\n    3\n]\n[\n    \",\"\n]\n[\n    12\n]\n[\n    \",\"\n]\n"
    );
}

#[test]
fn runtime_errors_are_kubectls() {
    let cases: &[(&str, bool, &str)] = &[
        ("{.nope}", false, "nope is not found"),
        ("{.items[*].nope}", false, "nope is not found"),
        (
            "{.items[5]}",
            true,
            "array index out of bounds: index 5, length 2",
        ),
        (
            "{.items[-3]}",
            true,
            "array index out of bounds: index -1, length 2",
        ),
        (
            "{.items[0:5]}",
            true,
            "array index out of bounds: index 4, length 2",
        ),
        ("{.items[::0]}", true, "step must be > 0"),
        ("{.kind[0]}", true, "a string is not an array"),
        (
            "{.items[0][?(@.x)]}",
            true,
            "an object is not an array and cannot be filtered",
        ),
        (
            "{.items[?(@.count==\"3\")]}",
            true,
            "incompatible types for comparison: a number and a string",
        ),
        (
            "{.items[?(@.status==1)]}",
            true,
            "invalid type for comparison: an object",
        ),
        (
            "{.users[?(@.user.*==1)]}",
            true,
            "can only compare one element at a time",
        ),
    ];
    for (template, allow_missing, want) in cases {
        let e = render(template, false, *allow_missing).unwrap_err();
        assert!(e.contains(want), "{template}: {e}");
        assert!(e.starts_with("error executing jsonpath"), "{template}: {e}");
    }
    // Without allow-missing, what exists still prints.
    assert_eq!(render("{.kind}", false, false).unwrap(), "List");
    // A filter on a missing field keeps nothing (and is no error).
    assert_eq!(render("{.users[?(@.nope==1)]}", false, true).unwrap(), "");
}

#[test]
fn parse_errors_point_at_their_column() {
    let cases: &[(&str, &str, usize)] = &[
        ("{.items[*].reason", "unclosed action", 1),
        ("x {.a", "unclosed action", 3),
        ("{.a\n}", "unclosed action", 1),
        ("{.items[*}", "unterminated array", 8),
        ("{.items[a]}", "invalid array index a", 9),
        ("{.items[1:2:3:4]}", "invalid array index", 9),
        ("{.items[?(@.x==1]}", "unterminated filter", 8),
        ("{.items[?(@.x==1)}", "expected ] after the filter's )", 17),
        (
            "{.items[?(@.x=~\"a\")]}",
            "unrecognized filter operator =",
            14,
        ),
        ("{\"abc}", "unterminated quoted string", 2),
        ("{\"a\\qb\"}", "invalid escape", 4),
        ("{.a}{end}", "not in range, nothing to end", 6),
        ("{range .a}{end .b}", "{end} takes nothing", 12),
        ("{.a range}", "range must open its action", 5),
        ("{foo}", "unrecognized identifier \"foo\"", 2),
        ("{.a ~}", "unrecognized character in action: U+007E '~'", 5),
        ("{.a\t}", "unrecognized character in action: U+0009", 4),
        ("{....a}", "invalid multiple recursive descent", 4),
        ("{1.2.3}", "cannot parse number 1.2.3", 2),
        ("{.items[0, x]}", "invalid array index x", 12),
        ("{.items[?(@.a==b)]}", "unrecognized identifier \"b\"", 16),
        ("é{.a", "unclosed action", 2),
    ];
    for (template, want, col) in cases {
        let e = parse::parse(template).unwrap_err();
        assert!(e.message.contains(want), "{template}: {}", e.message);
        assert_eq!(
            column(template, e.span.0),
            *col,
            "{template}: {}",
            e.message
        );
    }
}

#[test]
fn ranges_left_open_run_to_the_end() {
    assert_eq!(
        render("{range .items[*]}{.count};", false, true).unwrap(),
        "3;12;"
    );
}

fn occurrence(name: &str, reason: &str, message: &str) -> Occurrence {
    Occurrence::new(
        Event {
            uid: format!("uid-{name}"),
            resource_version: "7".into(),
            namespace: Some("payments".into()),
            name: name.into(),
            type_: Some("Warning".into()),
            reason: Some(reason.into()),
            message: Some(message.into()),
            count: 2,
            object: ObjectRef {
                kind: Some("Pod".into()),
                namespace: Some("payments".into()),
                name: Some(name.split('.').next().unwrap_or(name).into()),
                ..Default::default()
            },
            reporting_controller: Some("kubelet".into()),
            last_seen: Some("2026-11-28T09:31:40Z".parse().unwrap()),
            first_seen: Some("2026-11-28T09:01:02Z".parse().unwrap()),
            ..Default::default()
        },
        RecordContext::default(),
    )
}

#[test]
fn items_carry_the_record_and_kubectls_paths() {
    let v = item(&occurrence("web-1.a", "BackOff", "m"));
    assert_eq!(v["kind"], "Event");
    assert_eq!(v["apiVersion"], "v1");
    assert_eq!(v["metadata"]["name"], "web-1.a");
    assert_eq!(v["metadata"]["namespace"], "payments");
    assert_eq!(v["metadata"]["uid"], "uid-web-1.a");
    assert_eq!(v["metadata"]["resourceVersion"], "7");
    assert_eq!(v["involvedObject"]["name"], "web-1");
    assert_eq!(v["involvedObject"], v["object"]);
    assert_eq!(v["lastTimestamp"], "2026-11-28T09:31:40Z");
    assert_eq!(v["firstTimestamp"], v["firstSeen"]);
    assert_eq!(v["reportingComponent"], "kubelet");
    assert_eq!(v["reason"], "BackOff");
    assert_eq!(v["count"], 2);
    assert_eq!(v["schema"], "kev/v1");
    // Null fields are absent, as unset fields of a raw Event.
    assert!(v.get("related").is_none() && v.get("cluster").is_none());
    assert!(v["involvedObject"].get("uid").is_none());
}

#[test]
fn the_printer_runs_once_over_the_listing_or_per_event() {
    let a = occurrence("web-1.a", "BackOff", "bad \u{1b}[31mred");
    let b = occurrence("web-2.b", "Pulled", "ok");
    let now = Utc::now();
    let source = "{range .items[*]}{.metadata.name}{\"\\t\"}{.message}{\"\\n\"}{end}";
    let mut listing = JsonPathPrinter::with(Compiled::new(source, false, false, true).unwrap());
    let mut out = Vec::new();
    listing.print_batch(&mut out, &[&a, &b], now).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "web-1.a\tbad ^[[31mred\nweb-2.b\tok\n"
    );
    // No newline added to a listing (kubectl adds none), nothing for none.
    let mut reasons =
        JsonPathPrinter::with(Compiled::new("{.items[*].reason}", false, false, true).unwrap());
    let mut out = Vec::new();
    reasons.print_batch(&mut out, &[&a, &b], now).unwrap();
    reasons.print_batch(&mut out, &[], now).unwrap();
    assert_eq!(out, b"BackOff Pulled");
    // -w: per event, over the event, a newline after each.
    let mut follow = JsonPathPrinter::with(
        Compiled::new("{.reason} {.involvedObject.name}", false, true, true).unwrap(),
    );
    let mut out = Vec::new();
    follow.print_batch(&mut out, &[&a], now).unwrap();
    follow.print_one(&mut out, &b, now).unwrap();
    assert_eq!(out, b"BackOff web-1\nPulled web-2\n");
    let mut as_json =
        JsonPathPrinter::with(Compiled::new("{.items[*].count}", true, false, true).unwrap());
    let mut out = Vec::new();
    as_json.print_batch(&mut out, &[&a, &b], now).unwrap();
    assert_eq!(out, b"[\n    2,\n    2\n]\n");
}

#[test]
fn go_floats() {
    for (f, want) in [
        (1.5, "1.5"),
        (3.0, "3"),
        (1e6, "1e+06"),
        (123_456.0, "123456"),
        (1_234_567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-2.5e-7, "-2.5e-07"),
        (1e100, "1e+100"),
        (0.0, "0"),
    ] {
        let mut out = String::new();
        eval::go_float(f, &mut out);
        assert_eq!(out, want, "{f}");
    }
}
