//! The one dependency-order traversal every command shares: each service
//! runs as soon as those it depends on are done (independent ones at once),
//! or, to tear down, after those that depend on it.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared, join_all};

use crate::compose::Project;
use crate::compose::graph::DepGraph;

/// Runs `run` for each service of `order` (a dependency order) once the
/// services it `depends_on` among them have finished, handing it their
/// results; returns every service's result.
pub async fn forward<T, F>(
    order: &[String],
    depends_on: impl Fn(&str) -> Vec<String>,
    run: F,
) -> BTreeMap<String, T>
where
    T: Clone + Send + Sync + 'static,
    F: Fn(String, BTreeMap<String, T>) -> BoxFuture<'static, T> + Send + Sync + 'static,
{
    let run = Arc::new(run);
    let mut futs: BTreeMap<String, Shared<BoxFuture<'static, T>>> = BTreeMap::new();
    for name in order {
        let deps: Vec<(String, Shared<BoxFuture<'static, T>>)> = depends_on(name)
            .into_iter()
            .filter_map(|d| futs.get(&d).map(|f| (d, f.clone())))
            .collect();
        let (name2, run) = (name.clone(), run.clone());
        let fut = async move {
            let results = join_all(deps.iter().map(|(_, f)| f.clone())).await;
            let before: BTreeMap<String, T> =
                deps.into_iter().map(|(d, _)| d).zip(results).collect();
            run(name2, before).await
        }
        .boxed()
        .shared();
        futs.insert(name.clone(), fut);
    }
    let names: Vec<String> = futs.keys().cloned().collect();
    let results = join_all(names.iter().map(|n| futs[n].clone())).await;
    names.into_iter().zip(results).collect()
}

/// The services of `targets` in reverse dependency order, a level at a
/// time: each level can be torn down together once the one before it is.
pub fn teardown_levels(
    project: &Project,
    targets: &std::collections::BTreeSet<String>,
) -> Vec<Vec<String>> {
    let mut services = project.services.clone();
    services.extend(project.disabled.clone());
    DepGraph::new(&services).teardown_levels(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_runs_after_its_dependencies_with_their_results() {
        let order: Vec<String> = ["db", "cache", "api", "web"].map(String::from).to_vec();
        let deps = |s: &str| match s {
            "api" => vec!["db".to_string(), "cache".to_string()],
            "web" => vec!["api".to_string()],
            _ => vec![],
        };
        let done = forward(&order, deps, |name, before| {
            async move {
                let mut seen: Vec<String> = before.into_values().flatten().collect();
                seen.sort();
                seen.push(name);
                seen
            }
            .boxed()
        })
        .await;
        assert_eq!(done["web"], ["api", "cache", "db", "web"]);
        assert_eq!(done["db"], ["db"]);
    }
}
