// TEMPORARY STUB
pub struct ParsedRule { pub path: String, pub capabilities: Vec<String>, pub line: u32, pub deny_all: bool }
pub fn parse_policy(text: &str) -> Result<Vec<ParsedRule>, String> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if let Some(rest) = l.trim().strip_prefix("path \"") {
            let p = rest.split('"').next().unwrap_or("").to_string();
            let mut caps = Vec::new();
            for l2 in &lines[i..] { if l2.contains("capabilities") { caps = l2.split('"').skip(1).step_by(2).map(str::to_string).collect(); break; } }
            out.push(ParsedRule { path: p, capabilities: caps, line: (i + 1) as u32, deny_all: false });
        }
    }
    Ok(out)
}
