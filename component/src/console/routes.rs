//! A section's path matched against its fixed table of routes, with `matchit`. Every section
//! shares the one router type (`Router<usize>`, an index into the section's table), so the
//! component carries matchit's code once however many sections route with it.

/// The route a path matched, with the path's parameters by name.
pub struct Found<R> {
    /// The table's value for the matched pattern.
    pub route: R,
    params: Vec<(String, String)>,
}

impl<R> Found<R> {
    /// The parameter `name` of the pattern (`{id}` → `"id"`), `""` if the pattern has none.
    pub fn param(&self, name: &str) -> String {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

/// The route of `table` that `path` matches, if any.
pub fn find<R: Copy>(table: &[(&str, R)], path: &str) -> Option<Found<R>> {
    let mut router = matchit::Router::new();
    for (i, (pattern, _)) in table.iter().enumerate() {
        // The tables are constants: a conflict is a programming error the section's tests meet
        // at once.
        router
            .insert(*pattern, i)
            .expect("a section's routes do not conflict");
    }
    let matched = router.at(path).ok()?;
    Some(Found {
        route: table[*matched.value].1,
        params: matched
            .params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_find_their_route_and_parameters() {
        let table = [("/a", 1), ("/a/{id}", 2), ("/a/{id}/b", 3)];
        assert_eq!(find(&table, "/a").map(|f| f.route), Some(1));
        let found = find(&table, "/a/M-1/b").unwrap();
        assert_eq!((found.route, found.param("id")), (3, "M-1".to_string()));
        assert_eq!(found.param("other"), "");
        assert!(find(&table, "/c").is_none());
        assert!(find(&table, "/a/M-1/b/c").is_none());
    }
}
