//! The services' dependency graph: startup levels (services in one level can
//! start together), teardown order, the services `up SERVICE...` needs, and
//! cycles reported as `a -> b -> a`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};

use super::model::Service;

/// An edge `a -> b` means service `a` depends on service `b`.
pub struct DepGraph {
    graph: DiGraph<String, ()>,
    index: HashMap<String, NodeIndex>,
}

impl DepGraph {
    /// Builds the graph; dependencies on services not in `services` are left out
    /// (validation reports them).
    pub fn new(services: &BTreeMap<String, Service>) -> Self {
        let mut graph = DiGraph::new();
        let mut index = HashMap::new();
        for name in services.keys() {
            index.insert(name.clone(), graph.add_node(name.clone()));
        }
        for (name, svc) in services {
            for dep in svc.depends_on.keys() {
                if let Some(&to) = index.get(dep) {
                    graph.add_edge(index[name], to, ());
                }
            }
        }
        DepGraph { graph, index }
    }

    /// One dependency cycle, as the names along it with the first repeated at the end.
    pub fn find_cycle(&self) -> Option<Vec<String>> {
        let mut sccs: Vec<Vec<NodeIndex>> = tarjan_scc(&self.graph)
            .into_iter()
            .filter(|scc| scc.len() > 1 || self.graph.contains_edge(scc[0], scc[0]))
            .collect();
        sccs.sort_by_key(|scc| scc.iter().map(|i| self.graph[*i].clone()).min());
        let scc = sccs.first()?;
        let members: BTreeSet<NodeIndex> = scc.iter().copied().collect();
        let start = *scc.iter().min_by_key(|i| &self.graph[**i])?;
        // Walk inside the component until we come back to the start.
        let mut path = vec![start];
        let mut seen = BTreeSet::from([start]);
        while let Some(&cur) = path.last() {
            let mut next: Vec<NodeIndex> =
                self.graph.neighbors(cur).filter(|n| members.contains(n)).collect();
            next.sort_by_key(|n| self.graph[*n].clone());
            if next.contains(&start) {
                let mut names: Vec<String> = path.iter().map(|i| self.graph[*i].clone()).collect();
                names.push(self.graph[start].clone());
                return Some(names);
            }
            match next.into_iter().find(|n| !seen.contains(n)) {
                Some(n) => {
                    seen.insert(n);
                    path.push(n);
                }
                None => {
                    path.pop();
                }
            }
        }
        None
    }

    /// The named services and, transitively, what they depend on.
    pub fn with_dependencies<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut stack: Vec<NodeIndex> =
            names.into_iter().filter_map(|n| self.index.get(n).copied()).collect();
        while let Some(i) = stack.pop() {
            if out.insert(self.graph[i].clone()) {
                stack.extend(self.graph.neighbors(i));
            }
        }
        out
    }

    /// Startup order for `subset`: each level depends only on earlier levels.
    /// Dependencies outside the subset are ignored (as with `--no-deps`).
    pub fn levels(&self, subset: &BTreeSet<String>) -> Vec<Vec<String>> {
        let Ok(order) = toposort(&self.graph, None) else {
            // A cycle is a validation error reported earlier; give one level each.
            return subset.iter().map(|s| vec![s.clone()]).collect();
        };
        let mut level: HashMap<NodeIndex, usize> = HashMap::new();
        // toposort puts dependents before dependencies; walk it backwards.
        for &i in order.iter().rev() {
            if !subset.contains(&self.graph[i]) {
                continue;
            }
            let l = self
                .graph
                .neighbors(i)
                .filter(|d| subset.contains(&self.graph[*d]))
                .map(|d| level.get(&d).map_or(0, |l| l + 1))
                .max()
                .unwrap_or(0);
            level.insert(i, l);
        }
        let depth = level.values().max().map_or(0, |m| m + 1);
        let mut levels = vec![Vec::new(); depth];
        for (i, l) in level {
            levels[l].push(self.graph[i].clone());
        }
        for l in &mut levels {
            l.sort();
        }
        levels
    }

    /// Teardown order: the startup levels reversed.
    pub fn teardown_levels(&self, subset: &BTreeSet<String>) -> Vec<Vec<String>> {
        let mut l = self.levels(subset);
        l.reverse();
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::model::{Condition, Dependency};

    fn services(edges: &[(&str, &[&str])]) -> BTreeMap<String, Service> {
        edges
            .iter()
            .map(|(name, deps)| {
                let svc = Service {
                    name: name.to_string(),
                    depends_on: deps
                        .iter()
                        .map(|d| {
                            (
                                d.to_string(),
                                Dependency {
                                    condition: Condition::ServiceStarted,
                                    restart: false,
                                    required: true,
                                },
                            )
                        })
                        .collect(),
                    ..Default::default()
                };
                (name.to_string(), svc)
            })
            .collect()
    }

    fn all(s: &BTreeMap<String, Service>) -> BTreeSet<String> {
        s.keys().cloned().collect()
    }

    #[test]
    fn levels_group_independent_services() {
        let s =
            services(&[("nginx", &["api", "db"]), ("api", &["db"]), ("db", &[]), ("cache", &[])]);
        let g = DepGraph::new(&s);
        assert_eq!(g.levels(&all(&s)), vec![vec!["cache", "db"], vec!["api"], vec!["nginx"]]);
        assert_eq!(
            g.teardown_levels(&all(&s)),
            vec![vec!["nginx"], vec!["api"], vec!["cache", "db"]]
        );
        assert!(g.find_cycle().is_none());
    }

    #[test]
    fn subgraph_for_named_services() {
        let s = services(&[("nginx", &["api"]), ("api", &["db"]), ("db", &[]), ("other", &[])]);
        let g = DepGraph::new(&s);
        let need = g.with_dependencies(["api"]);
        assert_eq!(need.into_iter().collect::<Vec<_>>(), vec!["api", "db"]);
        let only: BTreeSet<String> = ["api".to_string()].into();
        assert_eq!(g.levels(&only), vec![vec!["api"]]);
    }

    #[test]
    fn cycles_are_named_in_order() {
        let s = services(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"]), ("d", &[])]);
        assert_eq!(DepGraph::new(&s).find_cycle().unwrap(), vec!["a", "b", "c", "a"]);
        let s = services(&[("self", &["self"])]);
        assert_eq!(DepGraph::new(&s).find_cycle().unwrap(), vec!["self", "self"]);
    }
}
