//! `maxResults` / `nextToken` paging over an ordered list. The token is the base64 of the last
//! item's key (it matches the model's `[a-zA-Z0-9+/=_-]*`), so a page stays right when items are
//! added or removed between calls. Pure.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::error::{ApiError, ErrorKind};

/// `maxResults` when the request has none (the model's default for every list but one).
pub const DEFAULT_PAGE: usize = 100;

/// One page of `items` (ordered by `key`) after the request's `nextToken`, at most its
/// `maxResults`; with the token of the next page when there is more.
pub fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    input: &Map<String, Value>,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let max = input
        .get("maxResults")
        .and_then(Value::as_u64)
        .map_or(DEFAULT_PAGE, |max| {
            usize::try_from(max).unwrap_or(DEFAULT_PAGE)
        });
    let start = match input.get("nextToken").and_then(Value::as_str) {
        None | Some("") => 0,
        Some(token) => {
            let after = STANDARD
                .decode(token)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorKind::Validation,
                        "nextToken: is not a token this server gave",
                    )
                })?;
            items.partition_point(|item| key(item) <= after)
        }
    };
    let mut rest: Vec<T> = items.into_iter().skip(start).collect();
    let next = (rest.len() > max).then(|| STANDARD.encode(key(&rest[max - 1])));
    rest.truncate(max);
    Ok((rest, next))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(json: Value) -> Map<String, Value> {
        json.as_object().unwrap().clone()
    }

    #[test]
    fn pages_walk_every_item_once() {
        let items: Vec<String> = (0..7).map(|n| format!("k{n}")).collect();
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut input = json!({"maxResults": 3});
            if let Some(token) = &token {
                input["nextToken"] = json!(token);
            }
            let (page, next) = page(items.clone(), Clone::clone, &request(input)).unwrap();
            assert!(page.len() <= 3);
            seen.extend(page);
            match next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, items);
    }

    #[test]
    fn the_last_full_page_has_no_token_and_garbage_is_refused() {
        let items = vec!["a".to_owned(), "b".to_owned()];
        let (page_one, next) = page(
            items.clone(),
            Clone::clone,
            &request(json!({"maxResults": 2})),
        )
        .unwrap();
        assert_eq!(page_one.len(), 2);
        assert!(next.is_none());
        let err = page(items, Clone::clone, &request(json!({"nextToken": "!!"}))).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Validation);
        assert!(err.message.starts_with("nextToken"));
    }
}
