//! The pages every on-call resource has (users, teams, schedules, escalation policies,
//! maintenance windows): a list, a form to create one, the same form to change one, and
//! Delete. Each resource says how its form reads and renders ([`DirectoryPage`]); the
//! handlers here are shared, and every save goes through the resource's `ops` function, so a
//! form is refused exactly where the API refuses (the form comes back with the 422 reason).

use super::{FormFields, Session, page, refused_page, see_other};
use crate::http::HttpState;
use crate::ops::{self, OpsError, Services};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// One on-call resource's console pages.
pub trait DirectoryPage: 'static {
    /// Its path under `/ui` (`/users`), also the nav tab's name without the slash.
    const PATH: &'static str;
    /// The nav tab it belongs to.
    const NAV: &'static str;
    /// The list page's title (`People`).
    const LIST_TITLE: &'static str;
    /// One of them, in a sentence (`user`).
    const NOUN: &'static str;
    /// The list template; the form's is `<LIST_TEMPLATE>_form`.
    const TEMPLATE: &'static str;

    /// Every view, newest first.
    fn list(services: &Services) -> Result<Vec<Value>, OpsError>;
    /// One view.
    fn get(services: &Services, id: &str) -> Result<Value, OpsError>;
    /// Creates one from the input (blocking: a password is hashed).
    fn create(services: &Services, input: Value) -> Result<Value, OpsError>;
    /// Changes one (blocking, as `create`).
    fn update(services: &Services, id: &str, input: Value) -> Result<Value, OpsError>;
    /// Deletes one.
    fn delete(services: &Services, id: &str) -> Result<(), OpsError>;

    /// The list page's data, from the views.
    fn list_data(services: &Services, views: Vec<Value>) -> Result<Value, OpsError>;
    /// The input a posted form makes, in the API's shape (`editing`: a change, where an empty
    /// optional field is `null`, which removes it). A form that cannot be read says why.
    fn input(fields: &FormFields, editing: bool) -> Result<Value, String>;
    /// The form's data from a view or an input (as shown again after a refusal): never a
    /// password or a hash.
    fn form_data(services: &Services, values: &Value) -> Result<Value, OpsError>;
    /// Where a saved one is shown.
    fn saved_location(_view: &Value) -> String {
        format!("/ui{}", Self::PATH)
    }
}

/// The list, a new form, create, the form of one, save and delete, as route rows.
macro_rules! directory_routes {
    ($page:ty, $path:literal) => {
        [
            $crate::http::RouteRow {
                method: actix_web::http::Method::GET,
                path: $path,
                handler: |route| route.to($crate::http::ui::directory_pages::list::<$page>),
            },
            $crate::http::RouteRow {
                method: actix_web::http::Method::GET,
                path: concat!($path, "/new"),
                handler: |route| route.to($crate::http::ui::directory_pages::new_form::<$page>),
            },
            $crate::http::RouteRow {
                method: actix_web::http::Method::POST,
                path: concat!($path, "/new"),
                handler: |route| route.to($crate::http::ui::directory_pages::create::<$page>),
            },
            $crate::http::RouteRow {
                method: actix_web::http::Method::GET,
                path: concat!($path, "/{id}/edit"),
                handler: |route| route.to($crate::http::ui::directory_pages::edit_form::<$page>),
            },
            $crate::http::RouteRow {
                method: actix_web::http::Method::POST,
                path: concat!($path, "/{id}/edit"),
                handler: |route| route.to($crate::http::ui::directory_pages::save::<$page>),
            },
            $crate::http::RouteRow {
                method: actix_web::http::Method::POST,
                path: concat!($path, "/{id}/delete"),
                handler: |route| route.to($crate::http::ui::directory_pages::delete::<$page>),
            },
        ]
    };
}
pub(super) use directory_routes;

/// The list page.
pub async fn list<P: DirectoryPage>(state: web::Data<HttpState>, session: Session) -> HttpResponse {
    let data = P::list(&state.services).and_then(|views| P::list_data(&state.services, views));
    match data {
        Ok(data) => page(
            &state,
            Some(&session),
            StatusCode::OK,
            P::TEMPLATE,
            P::LIST_TITLE,
            P::NAV,
            data,
        ),
        Err(error) => refused_page(&state, &session, error),
    }
}

/// The form, of a new one (`editing: None`) or of one, with `error` when a save was refused.
fn form_page<P: DirectoryPage>(
    state: &HttpState,
    session: &Session,
    status: StatusCode,
    values: &Value,
    editing: Option<&str>,
    error: Option<String>,
) -> HttpResponse {
    let mut data = match P::form_data(&state.services, values) {
        Ok(Value::Object(data)) => data,
        Ok(_) => Map::new(),
        Err(error) => return refused_page(state, session, error),
    };
    let heading = match editing {
        Some(id) => match values["name"].as_str().filter(|name| !name.is_empty()) {
            Some(name) => format!("Edit {name}"),
            None => format!("Edit {} {id}", P::NOUN),
        },
        None => format!("New {}", P::NOUN),
    };
    let action = match editing {
        Some(id) => format!("/ui{}/{id}/edit", P::PATH),
        None => format!("/ui{}/new", P::PATH),
    };
    data.insert("heading".into(), json!(heading));
    data.insert("action".into(), json!(action));
    data.insert("editing".into(), json!(editing.is_some()));
    data.insert("id".into(), json!(editing));
    data.insert("path".into(), json!(P::PATH));
    data.insert("error".into(), json!(error));
    page(
        state,
        Some(session),
        status,
        &format!("{}_form", P::TEMPLATE),
        &heading,
        P::NAV,
        Value::Object(data),
    )
}

/// The form of a new one.
pub async fn new_form<P: DirectoryPage>(
    state: web::Data<HttpState>,
    session: Session,
) -> HttpResponse {
    form_page::<P>(&state, &session, StatusCode::OK, &json!({}), None, None)
}

/// The form of one, filled in from its view.
pub async fn edit_form<P: DirectoryPage>(
    state: web::Data<HttpState>,
    session: Session,
    id: web::Path<String>,
) -> HttpResponse {
    match P::get(&state.services, &id) {
        Ok(view) => form_page::<P>(&state, &session, StatusCode::OK, &view, Some(&id), None),
        Err(error) => refused_page(&state, &session, error),
    }
}

/// Saves through `write` (off the async threads): to the saved one's page, or the form again
/// with the reason it was refused.
async fn submit<P: DirectoryPage>(
    state: &HttpState,
    session: &Session,
    fields: &FormFields,
    editing: Option<&str>,
    write: impl FnOnce(Arc<Services>, Value) -> Result<Value, OpsError> + Send + 'static,
) -> HttpResponse {
    let input = P::input(fields, editing.is_some());
    let shown = input.clone().unwrap_or_else(|_| json!({}));
    let result = match input {
        Ok(input) => {
            let services = state.services.clone();
            ops::blocking(move || write(services, input)).await
        }
        Err(reason) => Err(OpsError::Invalid(reason)),
    };
    match result {
        Ok(view) => see_other(&P::saved_location(&view)),
        Err(error @ (OpsError::Store(_) | OpsError::NotFound(_))) => {
            refused_page(state, session, error)
        }
        Err(error) => form_page::<P>(
            state,
            session,
            error.status(),
            &shown,
            editing,
            Some(error.to_string()),
        ),
    }
}

/// Creates one from the posted form.
pub async fn create<P: DirectoryPage>(
    state: web::Data<HttpState>,
    session: Session,
    fields: web::Form<FormFields>,
) -> HttpResponse {
    submit::<P>(&state, &session, &fields, None, |services, input| {
        P::create(&services, input)
    })
    .await
}

/// Changes one from the posted form.
pub async fn save<P: DirectoryPage>(
    state: web::Data<HttpState>,
    session: Session,
    id: web::Path<String>,
    fields: web::Form<FormFields>,
) -> HttpResponse {
    let id = id.into_inner();
    let target = id.clone();
    submit::<P>(
        &state,
        &session,
        &fields,
        Some(&id),
        move |services, input| P::update(&services, &target, input),
    )
    .await
}

/// Deletes one (refused while something names it, saying what).
pub async fn delete<P: DirectoryPage>(
    state: web::Data<HttpState>,
    session: Session,
    id: web::Path<String>,
) -> HttpResponse {
    match P::delete(&state.services, &id) {
        Ok(()) => see_other(&format!("/ui{}", P::PATH)),
        Err(error) => refused_page(&state, &session, error),
    }
}

/// An object of the given pairs, leaving out `null`s unless `keep_nulls` (a change, where a
/// `null` removes the key).
pub fn object(pairs: Vec<(&str, Value)>, keep_nulls: bool) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .filter(|(_, value)| keep_nulls || !value.is_null())
            .map(|(key, value)| (key.to_string(), value))
            .collect(),
    )
}

/// A form field as a JSON string, `null` when empty.
pub fn text_or_null(fields: &FormFields, name: &str) -> Value {
    match fields.get(name) {
        "" => Value::Null,
        text => json!(text),
    }
}

/// A number typed in a form: the number, or the text as typed, so the API's parse names the
/// field that is not a number.
pub fn number_or_text(text: &str) -> Value {
    text.trim()
        .parse::<u64>()
        .map_or_else(|_| json!(text.trim()), |number| json!(number))
}

/// A view's string field, or empty.
pub fn text_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or("")
}

/// The user views by id, for names.
pub fn user_names(services: &Services) -> Result<Vec<(String, String)>, OpsError> {
    Ok(ops::people::users(services)?
        .iter()
        .map(|user| {
            (
                text_of(user, "id").to_string(),
                text_of(user, "name").to_string(),
            )
        })
        .collect())
}

/// The name of a user by id, or the id.
pub fn name_in<'a>(names: &'a [(String, String)], id: &'a str) -> &'a str {
    names
        .iter()
        .find(|(user, _)| user == id)
        .map_or(id, |(_, name)| name.as_str())
}
