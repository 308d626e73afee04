//! The `rules` argument of `new CaptureEngine(rules)`: a plain object with the schema of the
//! CLI's rules file (`cobrowse_engine::RulesConfig`), read field by field.
//!
//! Read by hand rather than through serde: the untagged `mask.attributes` entries made serde's
//! derive buffer every value into its generic content tree, a large part of the module for an
//! object read once (benches/JOURNAL.md, "Bundle size (branch `size9`)"). As in the rules
//! file, unknown sections and fields are refused (a typo must not silently unmask anything),
//! every field may be left out (`null` and `undefined` too), and errors name the field, never
//! its value.

use cobrowse_engine::protocol::ObjectValue;
use cobrowse_engine::{AttributeMask, RulesConfig};
use wasm_bindgen::prelude::*;

use crate::protocol::JsObjectValue;

/// The rules of `rules` (`undefined` or `null`: the defaults).
pub(crate) fn rules_from_js(rules: JsValue) -> Result<RulesConfig, JsError> {
    let rules = JsObjectValue(rules);
    let mut config = RulesConfig::default();
    if rules.0.is_undefined() || rules.is_null() {
        return Ok(config);
    }
    let sections = keys(&rules, "rules")?;
    for section in &sections {
        let value = rules.get(section);
        let Some(value) = value.filter(|v| !v.is_null()) else {
            continue;
        };
        match section.as_str() {
            "mask" => {
                for field in keys(&value, "mask")? {
                    let v = value.get(&field).filter(|v| !v.is_null());
                    let Some(v) = v else { continue };
                    match field.as_str() {
                        "all" => config.mask.all = boolean(&v, "mask.all")?,
                        "selectors" => config.mask.selectors = strings(&v, "mask.selectors")?,
                        "attributes" => config.mask.attributes = attribute_masks(&v)?,
                        _ => return Err(unknown("mask", &field)),
                    }
                }
            }
            "block" => {
                for field in keys(&value, "block")? {
                    let v = value.get(&field).filter(|v| !v.is_null());
                    let Some(v) = v else { continue };
                    match field.as_str() {
                        "selectors" => config.block.selectors = strings(&v, "block.selectors")?,
                        _ => return Err(unknown("block", &field)),
                    }
                }
            }
            "disable" => {
                for field in keys(&value, "disable")? {
                    let v = value.get(&field).filter(|v| !v.is_null());
                    let Some(v) = v else { continue };
                    match field.as_str() {
                        "selectors" => config.disable.selectors = strings(&v, "disable.selectors")?,
                        "submit_buttons" => {
                            config.disable.submit_buttons = boolean(&v, "disable.submit_buttons")?
                        }
                        _ => return Err(unknown("disable", &field)),
                    }
                }
            }
            _ => return Err(JsError::new(&format!("unknown rules section `{section}`"))),
        }
    }
    Ok(config)
}

fn unknown(section: &str, field: &str) -> JsError {
    JsError::new(&format!("unknown field `{section}.{field}`"))
}

fn invalid(path: &str, expected: &str) -> JsError {
    JsError::new(&format!("rules: `{path}` must be {expected}"))
}

fn keys(v: &JsObjectValue, path: &str) -> Result<Vec<String>, JsError> {
    v.keys().ok_or_else(|| invalid(path, "an object"))
}

fn boolean(v: &JsObjectValue, path: &str) -> Result<bool, JsError> {
    v.as_bool().ok_or_else(|| invalid(path, "a boolean"))
}

fn strings(v: &JsObjectValue, path: &str) -> Result<Vec<String>, JsError> {
    let expected = "an array of strings";
    let array =
        v.0.dyn_ref::<js_sys::Array>()
            .ok_or_else(|| invalid(path, expected))?;
    array
        .iter()
        .map(|s| s.as_string().ok_or_else(|| invalid(path, expected)))
        .collect()
}

/// `mask.attributes`: names, or `{ selector, attributes }` objects.
fn attribute_masks(v: &JsObjectValue) -> Result<Vec<AttributeMask>, JsError> {
    let path = "mask.attributes";
    let expected = "an array of attribute names and { selector, attributes } objects";
    let array =
        v.0.dyn_ref::<js_sys::Array>()
            .ok_or_else(|| invalid(path, expected))?;
    array
        .iter()
        .map(|entry| {
            if let Some(name) = entry.as_string() {
                return Ok(AttributeMask::Everywhere(name));
            }
            let entry = JsObjectValue(entry);
            let fields = keys(&entry, path)?;
            if let Some(field) = fields
                .iter()
                .find(|f| *f != "selector" && *f != "attributes")
            {
                return Err(unknown("mask.attributes[]", field));
            }
            let selector = entry
                .get("selector")
                .and_then(|s| s.as_string())
                .ok_or_else(|| invalid("mask.attributes[].selector", "a string"))?;
            let attributes = match entry.get("attributes") {
                Some(a) => strings(&a, "mask.attributes[].attributes")?,
                None => return Err(invalid("mask.attributes[].attributes", expected)),
            };
            Ok(AttributeMask::OnMatching {
                selector,
                attributes,
            })
        })
        .collect()
}
