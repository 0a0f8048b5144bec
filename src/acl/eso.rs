// TEMPORARY STUB
pub fn resolve_read_path(store_path: Option<&str>, version: &str, key: &str) -> String {
    let key = key.trim_matches('/');
    match store_path {
        Some(m) => { let m = m.trim_matches('/'); let rest = key.strip_prefix(&format!("{m}/")).unwrap_or(key);
            if version == "v2" { let rest = rest.strip_prefix("data/").unwrap_or(rest); format!("{m}/data/{rest}") } else { format!("{m}/{rest}") } }
        None => key.to_string(),
    }
}
