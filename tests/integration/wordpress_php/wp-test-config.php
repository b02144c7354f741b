<?php
/*
 * Settings of the throwaway test site, from the environment the test harness sets
 * (tests/integration/wordpress_site.py). Debian's WordPress code is used as installed; only the
 * configuration is ours, so Debian's host-based /etc/wordpress/config-*.php files are never read.
 */
define('ABSPATH', getenv('WP_TEST_ABSPATH'));
define('WP_CONTENT_DIR', getenv('WP_TEST_CONTENT_DIR'));
define('DB_NAME', getenv('WP_TEST_DB_NAME'));
define('DB_USER', getenv('WP_TEST_DB_USER'));
define('DB_PASSWORD', getenv('WP_TEST_DB_PASSWORD'));
define('DB_HOST', getenv('WP_TEST_DB_HOST'));
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
define('WP_HOME', getenv('WP_TEST_URL'));
define('WP_SITEURL', getenv('WP_TEST_URL'));
// The documented switch that allows application passwords without HTTPS (wp_is_application_passwords_supported).
define('WP_ENVIRONMENT_TYPE', 'local');
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
$table_prefix = 'wp_';
