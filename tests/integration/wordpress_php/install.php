<?php
/*
 * Creates the test database, installs WordPress into it (wp_install, as the web installer does),
 * and prints the admin's id, an application password for it and the id of a first post as JSON.
 * Run with php-cli; settings come from the environment (see wp-test-config.php).
 */
mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
[$db_host, $db_port] = explode(':', getenv('WP_TEST_DB_HOST')) + [1 => '3306'];
$server = new mysqli($db_host, getenv('WP_TEST_DB_USER'), getenv('WP_TEST_DB_PASSWORD'), null, (int) $db_port);
$server->query('CREATE DATABASE `' . $server->real_escape_string(getenv('WP_TEST_DB_NAME')) . '` CHARACTER SET utf8mb4');
$server->close();

$url = parse_url(getenv('WP_TEST_URL'));
$_SERVER['HTTP_HOST'] = $url['host'] . ':' . $url['port'];
$_SERVER['SERVER_NAME'] = $url['host'];
$_SERVER['REQUEST_URI'] = '/';
define('WP_INSTALLING', true);
require __DIR__ . '/wp-test-config.php';
require_once ABSPATH . 'wp-settings.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

add_filter('pre_wp_mail', '__return_true');  // no mail leaves the test site
$admin = getenv('WP_TEST_ADMIN');
$installed = wp_install('Moderation test site', $admin, $admin . '@example.test', false, '', wp_generate_password(24));
$admin_id = (int) $installed['user_id'];
wp_set_current_user($admin_id);

// Pretty permalinks, so /wp-json/... is routed to the REST API; no e-mail on new comments.
update_option('permalink_structure', '/%year%/%monthnum%/%postname%/');
flush_rewrite_rules();
update_option('comments_notify', 0);
update_option('moderation_notify', 0);

$post_id = wp_insert_post([
    'post_title' => 'A first post to comment on',
    'post_content' => 'Comments welcome.',
    'post_status' => 'publish',
    'post_author' => $admin_id,
], true);
if (is_wp_error($post_id)) {
    fwrite(STDERR, $post_id->get_error_message() . "\n");
    exit(1);
}
[$password] = WP_Application_Passwords::create_new_application_password($admin_id, ['name' => 'moderation tests']);
echo json_encode(['admin_id' => $admin_id, 'application_password' => $password, 'post_id' => $post_id]);
