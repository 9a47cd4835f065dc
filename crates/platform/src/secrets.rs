//! Secrets services need at start-up: keys, tokens, the fleet's internal
//! secret. Production requires each to be configured; development generates
//! it once into the data directory and keeps it there, so tokens, links and
//! hashes made with it survive restarts.

use chatflow_authn::ServiceIdentity;
use chatflow_runtime::Secret;

use crate::{Platform, PlatformError};

/// The fleet's development internal secret in the data directory, shared by
/// every service that signs or checks service identities.
pub const INTERNAL_SECRET_FILE: &str = "internal-secret";

/// Where a secret comes from and how a development one is made.
pub struct SecretSpec<'a> {
    /// The setting's full name, e.g. `services.groups.invite_key`.
    pub setting: &'a str,
    /// Its environment variable, for the production error message.
    pub env: &'a str,
    /// What a valid value looks like, for the same message.
    pub expects: &'a str,
    /// The file under the data directory holding the development value.
    pub file: &'a str,
}

impl Platform {
    /// The configured value of a secret, or in development the one kept in
    /// `<data_dir>/<spec.file>` (made with `generate` the first time).
    /// `check` validates whichever value is used.
    pub fn secret(
        &self,
        spec: &SecretSpec<'_>,
        configured: Option<&Secret<String>>,
        generate: impl FnOnce() -> String,
        check: impl Fn(&str) -> Result<(), String>,
    ) -> Result<String, PlatformError> {
        let invalid = |e: String| PlatformError::Config(format!("{}: {e}", spec.setting));
        if let Some(value) = configured {
            let value = value.expose().trim().to_owned();
            check(&value).map_err(invalid)?;
            return Ok(value);
        }
        if self.production() {
            return Err(PlatformError::Config(format!(
                "--production requires {}: {} ({})",
                spec.setting, spec.expects, spec.env
            )));
        }
        let path = self.data_dir().join(spec.file);
        if let Ok(existing) = std::fs::read_to_string(&path)
            && !existing.trim().is_empty()
        {
            let value = existing.trim().to_owned();
            check(&value).map_err(invalid)?;
            return Ok(value);
        }
        let value = generate();
        check(&value).map_err(invalid)?;
        std::fs::create_dir_all(self.data_dir())
            .and_then(|()| std::fs::write(&path, &value))
            .map_err(|e| PlatformError::Config(format!("cannot write {}: {e}", path.display())))?;
        println!(
            "generated a development {} in {}",
            spec.setting,
            path.display()
        );
        Ok(value)
    }

    /// The identity `service` signs internal gRPC calls with (and checks
    /// them by): the configured internal secret, or the fleet's development one.
    pub fn service_identity(
        &self,
        service: &str,
        configured: Option<&Secret<String>>,
    ) -> Result<ServiceIdentity, PlatformError> {
        let setting = format!("services.{service}.internal_secret");
        let env = format!(
            "CHATFLOW_SERVICES__{}__INTERNAL_SECRET",
            service.to_uppercase().replace('-', "_")
        );
        let spec = SecretSpec {
            setting: &setting,
            env: &env,
            expects: "at least 32 random bytes shared by the fleet",
            file: INTERNAL_SECRET_FILE,
        };
        let secret = self.secret(&spec, configured, random_hex, |_| Ok(()))?;
        ServiceIdentity::new(service, &Secret::new(secret))
            .map_err(|e| PlatformError::Config(format!("{setting}: {e}")))
    }
}

/// 32 random bytes as hex: a development secret or token.
pub fn random_hex() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The fleet's development operator token in the data directory, shared by
/// the config and auth services' admin APIs.
pub const OPERATOR_TOKEN_FILE: &str = "operator-token";

/// Operator tokens are at least 16 characters.
pub fn check_operator_token(token: &str) -> Result<(), String> {
    if token.len() < 16 {
        return Err("must be at least 16 characters".into());
    }
    Ok(())
}
