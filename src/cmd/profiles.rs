//! `sbx profiles`: the built-in profiles with their descriptions, and the search path.

use crate::error::Error;
use crate::profile::load;

pub fn profiles() -> Result<i32, Error> {
    println!("built-in profiles:");
    for (name, text) in load::BUILTINS {
        let description = text.lines().find_map(|l| l.strip_prefix("Description=")).unwrap_or("");
        println!("  {name:10} {description}");
    }
    println!("search path (NAME.conf, then drop-ins in NAME.conf.d/*.conf):");
    for dir in load::search_path() {
        let present = if dir.is_dir() { "" } else { " (absent)" };
        println!("  {}{present}", dir.display());
    }
    Ok(0)
}
