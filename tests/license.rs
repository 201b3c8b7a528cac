//! `Cargo.toml` names a licence expression; every licence it names has its
//! text in the repository, under the name the Rust ecosystem uses.

#[test]
fn every_licence_in_cargo_toml_has_its_file() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let expr = env!("CARGO_PKG_LICENSE");
    assert_eq!(expr, "MIT OR Apache-2.0");
    for (id, file, first_words) in [
        ("MIT", "LICENSE-MIT", "MIT License"),
        ("Apache-2.0", "LICENSE-APACHE", "Apache License"),
    ] {
        assert!(expr.split(" OR ").any(|part| part == id));
        let text =
            std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(text.trim_start().starts_with(first_words), "{file}");
    }
    let apache = std::fs::read_to_string(root.join("LICENSE-APACHE")).unwrap();
    assert!(apache.contains("Version 2.0, January 2004"));
    assert!(apache.contains("END OF TERMS AND CONDITIONS"));
}
