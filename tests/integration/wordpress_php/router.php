<?php
/*
 * Router for PHP's built-in server: static files are served as they are, every other request goes
 * through WordPress's front controller (what index.php and wp-blog-header.php do), so pretty URLs
 * such as /wp-json/wp/v2/comments reach the REST API.
 */
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
if ($path !== '/' && substr($path, -4) !== '.php' && is_file($_SERVER['DOCUMENT_ROOT'] . $path)) {
    return false;
}
require __DIR__ . '/wp-test-config.php';
define('WP_USE_THEMES', true);
require_once ABSPATH . 'wp-settings.php';
wp();
require_once ABSPATH . WPINC . '/template-loader.php';
