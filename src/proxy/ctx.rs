//! The variables of one request as templates see them: the request's own,
//! and those `map` blocks compute from them, computed when asked for.

use super::config::MapDef;
use super::vars::{RequestVars, Var, Vars};

/// Request variables together with `map` results, computed when asked for.
pub struct Ctx<'a> {
    pub rv: &'a RequestVars,
    pub maps: &'a [MapDef],
}

impl Ctx<'_> {
    /// The value `map` gives its variable for this request.
    pub fn map_value(&self, m: &MapDef) -> String {
        let key = m.source.eval(self);
        if let Some(v) = m.exact.get(&key) {
            return v.eval(self);
        }
        for (re, v) in &m.regexes {
            if re.is_match(&key) {
                return v.eval(self);
            }
        }
        m.default.eval(self)
    }
}

impl Vars for Ctx<'_> {
    fn var(&self, v: &Var) -> Option<String> {
        match self.maps.iter().find(|m| m.var == v.name()) {
            Some(m) => Some(self.map_value(m)),
            None => self.rv.var(v),
        }
    }

    fn with_var(&self, v: &Var, f: &mut dyn FnMut(&str)) -> bool {
        match self.maps.iter().find(|m| m.var == v.name()) {
            Some(m) => {
                f(&self.map_value(m));
                true
            }
            None => self.rv.with_var(v, f),
        }
    }

    fn capture(&self, n: usize) -> Option<&str> {
        self.rv.capture(n)
    }
}
