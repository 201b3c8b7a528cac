use serde_json::json;

use super::*;

#[test]
fn values_print_as_the_tests_read_them() {
    assert_eq!(value_text(&json!(3e-05)), "0.00003");
    assert_eq!(value_text(&json!(12500.0)), "12500");
    assert_eq!(value_text(&json!(-4)), "-4");
    assert_eq!(value_text(&json!(null)), "");
    assert_eq!(key("a/b~c"), "a~1b~0c");
}

#[test]
fn an_empty_report_still_renders_every_section() {
    let page = render(&json!({}));
    for s in ["capture", "findings", "servers", "examples", "connections"] {
        assert!(page.contains(&format!("data-section=\"{s}\"")), "{s}");
    }
    assert!(page.contains(CSP));
}

#[test]
fn capture_words_are_escaped() {
    let page = render(&json!({
        "capture": { "files": [ { "file": "<script>x</script>\"&", "link_types": [] } ] },
        "examples": [ { "client": "<b>", "client_port": 1, "server": "s", "server_port": 2,
                        "evidence": "</svg><script>", "segments": [
                            { "ord": 0, "from": "client", "flags": "S", "seq": 0, "notes": ["<i>"] } ] } ],
    }));
    assert!(!page.contains("<script>x"));
    assert!(!page.contains("<b>"));
    assert!(!page.contains("</svg><script>"));
    assert!(!page.contains("<i>"));
    assert!(page.contains("&lt;script&gt;x&lt;/script&gt;&quot;&amp;"));
}
