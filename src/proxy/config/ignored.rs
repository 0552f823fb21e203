//! Directives that only matter to the nginx process, and the error for one
//! rcompose cannot honour.

use crate::proxy::conf::{ConfError, Directive};

use super::values::{err, unsupported};

/// Directives nginx needs for itself; they change nothing here.
pub(super) const IGNORED: &[&str] = &[
    "user",
    "pid",
    "worker_rlimit_nofile",
    "worker_cpu_affinity",
    "worker_priority",
    "worker_shutdown_timeout",
    "daemon",
    "master_process",
    "pcre_jit",
    "env",
    "lock_file",
    "timer_resolution",
    "use",
    "multi_accept",
    "accept_mutex",
    "accept_mutex_delay",
    "tcp_nopush",
    "server_names_hash_bucket_size",
    "server_names_hash_max_size",
    "types_hash_max_size",
    "types_hash_bucket_size",
    "variables_hash_max_size",
    "variables_hash_bucket_size",
    "map_hash_max_size",
    "map_hash_bucket_size",
    "reset_timedout_connection",
    "open_file_cache",
    "open_file_cache_valid",
    "open_file_cache_min_uses",
    "open_file_cache_errors",
    "gzip_proxied",
    "gzip_comp_level",
    "gzip_buffers",
    "gzip_http_version",
    "gzip_disable",
    "proxy_buffers",
    "proxy_buffer_size",
    "proxy_busy_buffers_size",
    "proxy_max_temp_file_size",
    "proxy_temp_path",
    "proxy_temp_file_write_size",
    "client_body_buffer_size",
    "client_header_buffer_size",
    "large_client_header_buffers",
    "client_body_temp_path",
    // Only used by uwsgi_pass and scgi_pass, which are refused themselves.
    "uwsgi_temp_path",
    "scgi_temp_path",
    "log_not_found",
    "sendfile_max_chunk",
    "output_buffers",
    "aio",
    "directio",
];

/// A directive the built-in proxy does not do: nginx's (the nginx container
/// can serve the configuration), or unknown to nginx too, as nginx says it.
pub(super) fn cannot_honour(d: &Directive, place: &str) -> ConfError {
    if crate::proxy::directives::is_nginx_directive(&d.name) {
        unsupported(
            d,
            format!("the built-in proxy cannot honour the \"{}\" directive {place}", d.name),
        )
    } else {
        err(d, format!("unknown directive \"{}\"", d.name))
    }
}
