//! The CLI's side of the JSON API.

use anyhow::{anyhow, bail, Context};
use futures_util::{Stream, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A connection to one cimjob service.
pub struct Client {
    http: reqwest::Client,
    base: String,
    credentials: Option<(String, String)>,
}

impl Client {
    /// A client for the service at `base` (e.g. `http://127.0.0.1:5988`), trusting the
    /// certificates of `trusted` (PEM) for `https://`.
    pub fn new(
        base: String,
        credentials: Option<(String, String)>,
        trusted: &[reqwest::Certificate],
    ) -> anyhow::Result<Client> {
        let http = trusted
            .iter()
            .fold(reqwest::Client::builder(), |builder, root| {
                builder.add_root_certificate(root.clone())
            })
            .build()
            .context("cannot make an HTTP client")?;
        Ok(Client {
            http,
            base,
            credentials,
        })
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.credentials {
            Some((user, password)) => request.basic_auth(user, Some(password)),
            None => request,
        }
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let url = format!("{}{}", self.base, path);
        let mut request = self.authorized(self.http.request(method, &url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.with_context(|| {
            format!(
                "cannot reach the cimjob service at {} (is `cimjob serve` running?)",
                self.base
            )
        })?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            bail!(
                "the service at {} needs credentials: give --user and --password, or set CIMJOB_USER and CIMJOB_PASSWORD (on the service's machine the admin password file in its data dir is read)",
                self.base
            );
        }
        let text = response.text().await?;
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if !status.is_success() {
            let message = value
                .pointer("/error/message")
                .or(Some(&value))
                .and_then(Value::as_str)
                .map_or_else(|| value.to_string(), |m| m.trim().to_string());
            bail!("{message}");
        }
        Ok((status, value))
    }

    /// GET a JSON document.
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self.request(Method::GET, path, None).await?.1)
    }

    /// POST a JSON document.
    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        Ok(self.request(Method::POST, path, Some(body)).await?.1)
    }

    /// Any request with a JSON body, answered with JSON.
    pub async fn request_json(
        &self,
        method: Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        Ok(self.request(method, path, Some(body)).await?.1)
    }

    /// DELETE a resource.
    pub async fn delete(&self, path: &str) -> anyhow::Result<()> {
        self.request(Method::DELETE, path, None).await.map(|_| ())
    }

    /// A plain-text document's bytes as they come (a followed log streams until its run
    /// ends).
    pub async fn bytes(
        &self,
        path: &str,
    ) -> anyhow::Result<impl Stream<Item = anyhow::Result<axum::body::Bytes>>> {
        Ok(self
            .open_stream(path)
            .await?
            .bytes_stream()
            .map(|chunk| chunk.map_err(|e| anyhow!("the log stream broke: {e}"))))
    }

    /// GETs a document that streams; an error answer becomes the service's message.
    async fn open_stream(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        let url = format!("{}{}", self.base, path);
        let response = self
            .authorized(self.http.get(&url))
            .send()
            .await
            .with_context(|| format!("cannot reach the cimjob service at {}", self.base))?;
        if !response.status().is_success() {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let message = body
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("request failed");
            bail!("{message}");
        }
        Ok(response)
    }

    /// Follows a server-sent event stream of JSON documents.
    pub async fn events(
        &self,
        path: &str,
    ) -> anyhow::Result<impl Stream<Item = anyhow::Result<Value>>> {
        use eventsource_stream::Eventsource;
        let response = self.open_stream(path).await?;
        Ok(response.bytes_stream().eventsource().map(|e| {
            let event = e.map_err(|e| anyhow!("event stream broke: {e}"))?;
            serde_json::from_str(&event.data).context("bad event")
        }))
    }
}
