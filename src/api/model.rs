//! The IVS API model (`ivs-2020-07-14.json`: botocore's `service-2.json` for IVS, documentation
//! stripped; `scripts/update-ivs-model.sh` refreshes it): every operation with its HTTP binding,
//! input and output shapes, and every shape with its constraints. The source of truth for what
//! the API accepts and returns.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The model as shipped.
const IVS_MODEL: &str = include_str!("ivs-2020-07-14.json");

/// A service model.
#[derive(Debug, Deserialize)]
pub struct ServiceModel {
    /// The operations by name.
    pub operations: BTreeMap<String, Operation>,
    /// The shapes by name.
    pub shapes: BTreeMap<String, Shape>,
}

/// One operation.
#[derive(Debug, Deserialize)]
pub struct Operation {
    /// e.g. `CreateChannel`.
    pub name: String,
    /// Its HTTP binding.
    pub http: HttpBinding,
    /// The input structure, when it takes one.
    pub input: Option<ShapeRef>,
    /// The output structure, when it returns one.
    pub output: Option<ShapeRef>,
    /// The errors it may answer with.
    #[serde(default)]
    pub errors: Vec<ShapeRef>,
}

/// Method, path and success status of an operation.
#[derive(Debug, Deserialize)]
pub struct HttpBinding {
    /// `POST`, except the tag operations (`GET`/`POST`/`DELETE` on `/tags/{resourceArn}`).
    pub method: String,
    /// e.g. `/CreateChannel`, `/tags/{resourceArn}`.
    #[serde(rename = "requestUri")]
    pub request_uri: String,
    /// 200, or 204 for the deletes.
    #[serde(rename = "responseCode", default = "ok")]
    pub response_code: u16,
}

fn ok() -> u16 {
    200
}

/// A reference to a shape, as members and operations make them.
#[derive(Debug, Clone, Deserialize)]
pub struct ShapeRef {
    /// The shape's name.
    pub shape: String,
    /// Where an input member travels: `uri`, `querystring` or `header`; `None` for the body.
    pub location: Option<String>,
    /// Its name there.
    #[serde(rename = "locationName")]
    pub location_name: Option<String>,
}

/// A shape and its constraints.
#[derive(Debug, Deserialize)]
pub struct Shape {
    /// `structure`, `list`, `map`, `string`, `integer`, `long`, `boolean`, `timestamp`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A structure's members.
    #[serde(default)]
    pub members: BTreeMap<String, ShapeRef>,
    /// A structure's required members.
    #[serde(default)]
    pub required: Vec<String>,
    /// A list's element.
    pub member: Option<ShapeRef>,
    /// A map's key.
    pub key: Option<ShapeRef>,
    /// A map's value.
    pub value: Option<ShapeRef>,
    /// Least length (strings), size (lists, maps) or value (numbers).
    pub min: Option<f64>,
    /// Greatest length, size or value.
    pub max: Option<f64>,
    /// A regular expression the string must match (as Smithy reads it: anywhere in the string,
    /// unless the pattern anchors itself).
    pub pattern: Option<String>,
    /// The values a string may take.
    #[serde(rename = "enum")]
    pub values: Option<Vec<String>>,
    /// Whether the shape is an error, and its HTTP status.
    pub error: Option<ErrorBinding>,
}

/// The HTTP side of an error shape.
#[derive(Debug, Deserialize)]
pub struct ErrorBinding {
    /// The status it is answered with.
    #[serde(rename = "httpStatusCode")]
    pub status: u16,
}

impl ServiceModel {
    /// The IVS model, parsed once.
    pub fn ivs() -> &'static ServiceModel {
        static MODEL: OnceLock<ServiceModel> = OnceLock::new();
        MODEL.get_or_init(|| {
            serde_json::from_str(IVS_MODEL).unwrap_or_else(|err| {
                // The file is part of the binary: a broken one is a build defect, not input.
                panic!("src/api/ivs-2020-07-14.json does not parse: {err}")
            })
        })
    }

    /// The shape `name`, when the model has it.
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_has_every_operation_and_shape_it_names() {
        let model = ServiceModel::ivs();
        assert!(model.operations.len() >= 40, "{}", model.operations.len());
        for operation in model.operations.values() {
            // Every operation is POST /<Name>, except the tag operations on /tags/{resourceArn}.
            if operation.http.request_uri.starts_with("/tags/") {
                assert!(
                    ["GET", "POST", "DELETE"].contains(&operation.http.method.as_str()),
                    "{}",
                    operation.name
                );
            } else {
                assert_eq!(operation.http.method, "POST", "{}", operation.name);
                assert_eq!(operation.http.request_uri, format!("/{}", operation.name));
            }
            for reference in operation
                .input
                .iter()
                .chain(&operation.output)
                .chain(&operation.errors)
            {
                assert!(
                    model.shape(&reference.shape).is_some(),
                    "{}",
                    reference.shape
                );
            }
        }
        for (name, shape) in &model.shapes {
            for reference in shape
                .members
                .values()
                .chain(&shape.member)
                .chain(&shape.key)
                .chain(&shape.value)
            {
                assert!(
                    model.shape(&reference.shape).is_some(),
                    "{name} names {}",
                    reference.shape
                );
            }
        }
        let delete = &model.operations["DeleteChannel"];
        assert_eq!(delete.http.response_code, 204);
        assert_eq!(
            model.operations["TagResource"].http.request_uri,
            "/tags/{resourceArn}"
        );
    }
}
