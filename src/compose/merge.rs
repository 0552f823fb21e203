//! Merging several compose files, by the Compose Specification's rules.
//!
//! Works on position-carrying YAML nodes so that a value keeps pointing to the
//! file and line it came from. Mappings merge, sequences append; some keys
//! have their own rule (`command` is replaced, `environment` merges by
//! variable whether written as a list or a mapping, ...). `!reset` removes a
//! value, `!override` replaces it whole, and a null leaves the base alone.
//! De-duplication of ports and volumes happens when the merged tree is
//! converted to the model.

use super::yaml::{Key, Node, Value};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    Default,
    Replace,
    /// Lists of `K=V` and mappings both become mappings, merged by key.
    KeyValue,
    /// Lists of names and mappings both become mappings (depends_on, networks).
    NamedMap,
    Union,
    Build,
    /// Options merge under the same driver; another driver replaces the whole block.
    Logging,
    /// `gpus: all` stands for a list of one request for every GPU, so lists append to it.
    Gpus,
}

fn rule_for(path: &[&str]) -> Rule {
    match path {
        ["services", _, "command" | "entrypoint"] => Rule::Replace,
        ["services", _, "healthcheck", "test"] => Rule::Replace,
        ["services", _, "ulimits", _] => Rule::Replace,
        ["services", _, "environment" | "labels" | "sysctls" | "annotations"] => Rule::KeyValue,
        ["services", _, "build", "args" | "labels"] => Rule::KeyValue,
        ["networks" | "volumes", _, "labels"] => Rule::KeyValue,
        ["services", _, "depends_on" | "networks"] => Rule::NamedMap,
        [
            "services",
            _,
            "extra_hosts" | "dns" | "expose" | "cap_add" | "cap_drop" | "profiles" | "env_file",
        ] => Rule::Union,
        [
            "services",
            _,
            "dns_search" | "dns_opt" | "tmpfs" | "security_opt" | "group_add" | "devices",
        ] => Rule::Union,
        ["services", _, "links" | "external_links" | "device_cgroup_rules" | "label_file"] => {
            Rule::Union
        }
        ["services", _, "build"] => Rule::Build,
        ["services", _, "logging"] => Rule::Logging,
        ["services", _, "gpus"] => Rule::Gpus,
        _ => Rule::Default,
    }
}

/// Merges `over` on top of `base`.
pub fn merge(base: Node, over: Node) -> Node {
    let mut path = Vec::new();
    merge_at(base, over, &mut path)
}

fn merge_at(base: Node, over: Node, path: &mut Vec<String>) -> Node {
    if over.tag.as_deref() == Some("override") {
        return strip_resets(over);
    }
    let (rule, in_key_values) = {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        (rule_for(&p), p.split_last().is_some_and(|(_, parent)| rule_for(parent) == Rule::KeyValue))
    };
    // An override's empty key (`ports:` with its entries commented out) leaves
    // the base as it was, as docker compose merges; but `A:` in `environment`
    // means "take A from the shell", and a replaced value is replaced.
    if over.is_null()
        && over.tag.is_none()
        && !base.is_null()
        && rule != Rule::Replace
        && !in_key_values
    {
        return base;
    }
    let (base, over) = match rule {
        Rule::Replace => return strip_resets(over),
        Rule::KeyValue => (to_key_value_map(base), to_key_value_map(over)),
        Rule::NamedMap => {
            let depends_on = path.last().is_some_and(|k| k == "depends_on");
            (to_named_map(base, depends_on), to_named_map(over, depends_on))
        }
        Rule::Build => (build_to_map(base), build_to_map(over)),
        Rule::Union => {
            // A single value stands for a list of one (`dns: 10.0.0.53`, `tmpfs: /run`).
            let as_list = |n: Node| match n.value {
                Value::Str(_) | Value::Int(_) => {
                    Node { loc: n.loc.clone(), tag: None, value: Value::Seq(vec![n]) }
                }
                _ => n,
            };
            let (base, over) = (as_list(base), as_list(over));
            return match (base.value, over.value) {
                (Value::Seq(mut a), Value::Seq(b)) => {
                    for item in b {
                        if !a.iter().any(|x| x.value == item.value) {
                            a.push(item);
                        }
                    }
                    Node { value: Value::Seq(a), loc: base.loc, tag: None }
                }
                (_, v) => strip_resets(Node { value: v, loc: over.loc, tag: over.tag }),
            };
        }
        Rule::Logging => {
            let driver = |n: &Node| match &n.value {
                Value::Map(entries) => {
                    entries.iter().find(|(k, _)| k.name == "driver").map(|(_, v)| v.value.clone())
                }
                _ => None,
            };
            if matches!((driver(&base), driver(&over)), (Some(a), Some(b)) if a != b) {
                return strip_resets(over);
            }
            (base, over)
        }
        Rule::Gpus => (gpus_list(base), gpus_list(over)),
        Rule::Default => (base, over),
    };
    match (base.value, over.value) {
        (Value::Map(mut entries), Value::Map(over_entries)) => {
            for (k, v) in over_entries {
                let pos = entries.iter().position(|(e, _)| e.name == k.name);
                if v.tag.as_deref() == Some("reset") {
                    if let Some(i) = pos {
                        entries.remove(i);
                    }
                    continue;
                }
                match pos {
                    Some(i) => {
                        let (key, old) = entries.remove(i);
                        path.push(k.name.clone());
                        let merged = merge_at(old, v, path);
                        path.pop();
                        entries.insert(i, (key, merged));
                    }
                    None => entries.push((k, strip_resets(v))),
                }
            }
            Node { value: Value::Map(entries), loc: base.loc, tag: None }
        }
        (Value::Seq(mut a), Value::Seq(b)) => {
            a.extend(b.into_iter().map(strip_resets));
            Node { value: Value::Seq(a), loc: base.loc, tag: None }
        }
        (_, v) => strip_resets(Node { value: v, loc: over.loc, tag: over.tag }),
    }
}

/// Removes `!reset` entries from a tree that is not merged onto anything.
pub fn strip_resets(mut node: Node) -> Node {
    match &mut node.value {
        Value::Map(entries) => {
            entries.retain(|(_, v)| v.tag.as_deref() != Some("reset"));
            let taken = std::mem::take(entries);
            *entries = taken.into_iter().map(|(k, v)| (k, strip_resets(v))).collect();
        }
        Value::Seq(items) => {
            items.retain(|v| v.tag.as_deref() != Some("reset"));
            let taken = std::mem::take(items);
            *items = taken.into_iter().map(strip_resets).collect();
        }
        _ => {}
    }
    node
}

/// `["A=1", "B"]` becomes `{A: "1", B: null}`; a mapping stays as it is.
fn to_key_value_map(node: Node) -> Node {
    match node.value {
        Value::Seq(items) => {
            let mut entries: Vec<(Key, Node)> = Vec::new();
            for item in items {
                let Some(text) = item.scalar_text().filter(|_| matches!(item.value, Value::Str(_)))
                else {
                    // Leave malformed input for the converter to report.
                    return Node { value: Value::Seq(vec![item]), loc: node.loc, tag: node.tag };
                };
                let (k, v) = match text.split_once('=') {
                    Some((k, v)) => (k.to_string(), Value::Str(v.to_string())),
                    None => (text, Value::Null),
                };
                entries.retain(|(e, _)| e.name != k);
                let key = Key { name: k, loc: item.loc.clone() };
                entries.push((key, Node { value: v, loc: item.loc, tag: None }));
            }
            Node { value: Value::Map(entries), loc: node.loc, tag: node.tag }
        }
        _ => node,
    }
}

/// `[a, b]` becomes `{a: {}, b: {}}`: an entry with every default, which a
/// null would not be (`networks: {n: }` is taken, `depends_on: {db: }` is
/// refused). A dependency also spells out the condition the list form implies,
/// since a written entry without one is refused, as docker compose's schema does.
fn to_named_map(node: Node, depends_on: bool) -> Node {
    match node.value {
        Value::Seq(items) if items.iter().all(|i| matches!(i.value, Value::Str(_))) => {
            let entries = items
                .into_iter()
                .map(|i| {
                    let name = i.scalar_text().unwrap_or_default();
                    let mut entry = Vec::new();
                    if depends_on {
                        let condition =
                            Node::new(Value::Str("service_started".into()), i.loc.clone());
                        entry.push((
                            Key { name: "condition".into(), loc: i.loc.clone() },
                            condition,
                        ));
                    }
                    (
                        Key { name, loc: i.loc.clone() },
                        Node { value: Value::Map(entry), loc: i.loc, tag: None },
                    )
                })
                .collect();
            Node { value: Value::Map(entries), loc: node.loc, tag: node.tag }
        }
        _ => node,
    }
}

/// `gpus: all` becomes `gpus: [{count: -1}]`.
fn gpus_list(node: Node) -> Node {
    match &node.value {
        Value::Str(s) if s == "all" => {
            let key = Key { name: "count".into(), loc: node.loc.clone() };
            let count = Node::new(Value::Int(-1), node.loc.clone());
            let request = Node::new(Value::Map(vec![(key, count)]), node.loc.clone());
            Node { value: Value::Seq(vec![request]), loc: node.loc, tag: None }
        }
        _ => node,
    }
}

/// `build: ./dir` becomes `build: {context: ./dir}`.
fn build_to_map(node: Node) -> Node {
    match node.value {
        Value::Str(_) => {
            let key = Key { name: "context".into(), loc: node.loc.clone() };
            let loc = node.loc.clone();
            Node { value: Value::Map(vec![(key, node)]), loc, tag: None }
        }
        _ => node,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::yaml::parse;

    fn doc(s: &str) -> Node {
        parse(s, "t.yml".into()).unwrap().remove(0)
    }

    fn merged(a: &str, b: &str) -> Node {
        merge(doc(a), doc(b))
    }

    fn at<'a>(n: &'a Node, path: &[&str]) -> &'a Node {
        path.iter().fold(n, |n, k| n.get(k).unwrap_or_else(|| panic!("no {k}")))
    }

    fn strings(n: &Node) -> Vec<String> {
        match &n.value {
            Value::Seq(items) => items.iter().map(|i| i.scalar_text().unwrap()).collect(),
            _ => panic!("not a list"),
        }
    }

    #[test]
    fn mappings_merge_and_scalars_replace() {
        let m = merged(
            "services:\n  a:\n    image: x\n    restart: always\n",
            "services:\n  a:\n    image: y\n  b:\n    image: z\n",
        );
        assert_eq!(at(&m, &["services", "a", "image"]).scalar_text().unwrap(), "y");
        assert_eq!(at(&m, &["services", "a", "restart"]).scalar_text().unwrap(), "always");
        assert_eq!(at(&m, &["services", "b", "image"]).scalar_text().unwrap(), "z");
    }

    #[test]
    fn sequences_append_command_replaces() {
        let m = merged(
            "services:\n  a:\n    ports: ['80:80']\n    command: [a, b]\n    healthcheck: {test: [CMD, x], retries: 2}\n",
            "services:\n  a:\n    ports: ['81:81']\n    command: [c]\n    healthcheck: {test: [CMD, y]}\n",
        );
        assert_eq!(strings(at(&m, &["services", "a", "ports"])), vec!["80:80", "81:81"]);
        assert_eq!(strings(at(&m, &["services", "a", "command"])), vec!["c"]);
        assert_eq!(strings(at(&m, &["services", "a", "healthcheck", "test"])), vec!["CMD", "y"]);
        assert_eq!(
            at(&m, &["services", "a", "healthcheck", "retries"]).scalar_text().unwrap(),
            "2"
        );
    }

    #[test]
    fn environment_merges_across_forms() {
        let m = merged(
            "services:\n  a:\n    environment: [A=1, B=2]\n",
            "services:\n  a:\n    environment:\n      B: three\n      C: 4\n",
        );
        let env = at(&m, &["services", "a", "environment"]);
        assert_eq!(env.get("A").unwrap().scalar_text().unwrap(), "1");
        assert_eq!(env.get("B").unwrap().scalar_text().unwrap(), "three");
        assert_eq!(env.get("C").unwrap().scalar_text().unwrap(), "4");
    }

    #[test]
    fn depends_on_and_build_short_forms_merge() {
        let m = merged(
            "services:\n  a:\n    depends_on: [db]\n    build: ./app\n",
            "services:\n  a:\n    depends_on:\n      cache: {condition: service_healthy}\n    build: {dockerfile: Other}\n",
        );
        let deps = at(&m, &["services", "a", "depends_on"]);
        assert!(deps.get("db").is_some() && deps.get("cache").is_some());
        assert_eq!(at(&m, &["services", "a", "build", "context"]).scalar_text().unwrap(), "./app");
        assert_eq!(
            at(&m, &["services", "a", "build", "dockerfile"]).scalar_text().unwrap(),
            "Other"
        );
    }

    #[test]
    fn listed_dependencies_spell_out_their_condition_and_networks_stay_plain() {
        let m = merged(
            "services:\n  a:\n    depends_on: [db]\n    networks: [front]\n",
            "services:\n  a:\n    depends_on: [cache]\n    networks: [back]\n",
        );
        for dep in ["db", "cache"] {
            assert_eq!(
                at(&m, &["services", "a", "depends_on", dep, "condition"]).scalar_text().unwrap(),
                "service_started"
            );
        }
        for net in ["front", "back"] {
            assert!(
                matches!(&at(&m, &["services", "a", "networks", net]).value, Value::Map(e) if e.is_empty())
            );
        }
    }

    #[test]
    fn a_null_in_the_override_keeps_the_base_but_not_in_key_values_or_replaced_keys() {
        let m = merged(
            "services:\n  a:\n    ports: ['80:80']\n    environment: {A: 1}\n    command: [serve]\n",
            "services:\n  a:\n    ports:\n    environment:\n      A:\n    command:\n",
        );
        assert_eq!(strings(at(&m, &["services", "a", "ports"])), ["80:80"]);
        // `A:` takes A from the shell; a null command is the image's own.
        assert!(at(&m, &["services", "a", "environment", "A"]).is_null());
        assert!(at(&m, &["services", "a", "command"]).is_null());
        let m = merged("services:\n  a:\n    image: x\n", "services:\n  a:\n");
        assert_eq!(at(&m, &["services", "a", "image"]).scalar_text().unwrap(), "x");
    }

    #[test]
    fn reset_and_override_tags() {
        let m = merged(
            "services:\n  a:\n    ports: ['80:80']\n    environment: {A: 1, B: 2}\n",
            "services:\n  a:\n    ports: !reset []\n    environment: !override {C: 3}\n",
        );
        assert!(at(&m, &["services", "a"]).get("ports").is_none());
        let env = at(&m, &["services", "a", "environment"]);
        assert!(env.get("A").is_none());
        assert_eq!(env.get("C").unwrap().scalar_text().unwrap(), "3");
    }

    #[test]
    fn values_keep_their_file() {
        let a = parse("services:\n  a:\n    image: x\n", "one.yml".into()).unwrap().remove(0);
        let b = parse("services:\n  a:\n\n    image: y\n", "two.yml".into()).unwrap().remove(0);
        let m = merge(a, b);
        let img = at(&m, &["services", "a", "image"]);
        assert_eq!((&*img.loc.file, img.loc.line), ("two.yml", 4));
    }
}
