//! `rcompose version`.

use crate::cli::VersionArgs;

pub fn run(args: &VersionArgs) -> anyhow::Result<i32> {
    let v = env!("CARGO_PKG_VERSION");
    if args.short {
        println!("{v}");
    } else if args.format == "json" {
        println!("{}", serde_json::json!({ "version": v }));
    } else {
        println!("rcompose version {v}");
    }
    Ok(0)
}
