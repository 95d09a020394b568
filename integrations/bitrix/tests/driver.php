<?php
/**
 * Test driver: plays one Bitrix request against lookalike.php (the drop-in)
 * or the lookalike.sync module with the
 * stand-ins of stubs.php, as init.php would load it.
 *
 *   php driver.php SCENARIO.json
 *
 * The scenario is {"config": {CONSTANT: value}, "db": {...fixture...},
 * "db_charset": "windows-1251"?, "steps": [{"do": ...}, ...]}, and for the
 * module "docroot" (the site's DOCUMENT_ROOT, the module in its
 * local/modules/), "dropin": false (init.php does not include the drop-in;
 * its "dropin_file" otherwise), "lang" (LANGUAGE_ID), "right" (the admin's
 * right to the module: D, R or W). The driver
 * prints one JSON object: each step's result, every HTTP request the
 * handler made, its log lines and the fixture database afterwards (agents
 * included). Steps:
 *
 *   iblock        fire an old-style iblock event: "event", and "fields" (add/update), "id" (delete) or "args"
 *   d7            fire a D7 event: "module", "event", "params"
 *   set_element / delete_element / set_price / delete_price / set_product   change the fixture mid-request
 *   end_request   what Bitrix does after the response: run the background jobs
 *   flush         LookalikeSync::flush()
 *   agents        run the registered agents as CAgent does (eval of their call string)
 *   install_agent LookalikeSync::installAgent()
 *   build         LookalikeSync::buildMessage("id", "type")
 *   sign          LookalikeSync::sign("secret", "id", "ts", "body")
 *   format_price  LookalikeSync::formatPrice("amount", "currency")
 *   page_url      LookalikeSync::pageUrl("element")
 *   status        LookalikeSync::status()
 *   sleep         "seconds"
 *   install / uninstall   the module's DoInstall / DoUninstall, as Marketplace → Installed solutions runs them
 *   page          an admin page: "file" options (the module's settings page), backfill
 *                 (/bitrix/admin/lookalike_sync_backfill.php) or menu (admin/menu.php);
 *                 "get", "post" (a POST carries the session id unless "sessid" is false)
 *   ping / backfill_step  LookalikeSync::ping(), LookalikeSync::backfillStep("cursor", "limit")
 *   component     $APPLICATION->IncludeComponent("name", "template", "params"): what it prints
 *   component_file  the $arComponentDescription or $arComponentParameters of a component's "file"
 *
 * Without an end_request step, the events are sent at shutdown (the
 * handler's fallback for scripts that never reach Bitrix's epilog).
 */

require __DIR__ . '/bootstrap.php';

$scenario = json_decode((string) file_get_contents($argv[1]), true);
if (!is_array($scenario)) {
    fwrite(STDERR, "driver: cannot read the scenario {$argv[1]}\n");
    exit(2);
}
$dropin = !isset($scenario['dropin']) || $scenario['dropin'] !== false;
lookalike_test_boot($scenario, !$dropin);

$GLOBALS['driver_out'] = array('results' => array(), 'log' => array(), 'error' => null);
function driver_print()
{
    $out = $GLOBALS['driver_out'];
    $out['log'] = array_merge($out['log'], lookalike_test_error_log());
    $out['requests'] = \Bitrix\Main\Web\HttpClient::$log;
    $out['db'] = LookalikeTestDB::dump();
    echo json_encode($out, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PRETTY_PRINT), "\n";
}
// Print after every other shutdown function, the handler's flush included.
register_shutdown_function(function () {
    register_shutdown_function('driver_print');
});

if ($dropin) {
    // What init.php does.
    require isset($scenario['dropin_file']) ? $scenario['dropin_file'] : __DIR__ . '/../lookalike.php';
    LookalikeSync::$logger = function ($line) {
        $GLOBALS['driver_out']['log'][] = $line;
    };
    LookalikeSync::register();
}

try {
    foreach ($scenario['steps'] as $i => $step) {
        $r = null;
        switch ($step['do']) {
            case 'iblock':
                if (isset($step['args'])) {
                    $args = $step['args'];
                } else {
                    $args = isset($step['fields']) ? array($step['fields']) : array($step['id']);
                }
                $r = LookalikeTestFireModuleEvent('iblock', $step['event'], $args);
                break;
            case 'd7':
                $r = \Bitrix\Main\EventManager::getInstance()->fire($step['module'], $step['event'], $step['params']);
                break;
            case 'set_element':
                LookalikeTestDB::$elements[(int) $step['element']['ID']] = $step['element'];
                break;
            case 'delete_element':
                unset(LookalikeTestDB::$elements[(int) $step['id']]);
                break;
            case 'set_price':
                LookalikeTestDB::$prices[(int) $step['price']['ID']] = $step['price'];
                break;
            case 'delete_price':
                unset(LookalikeTestDB::$prices[(int) $step['id']]);
                break;
            case 'set_product':
                LookalikeTestDB::$products[(int) $step['product']['ID']] = $step['product'];
                break;
            case 'end_request':
                $r = \Bitrix\Main\Application::getInstance()->runBackgroundJobs();
                break;
            case 'flush':
                LookalikeSync::flush();
                break;
            case 'agents':
                $r = CAgent::RunAgents();
                break;
            case 'install_agent':
                $r = LookalikeSync::installAgent();
                break;
            case 'build':
                $r = LookalikeSync::buildMessage((int) $step['id'], $step['type']);
                break;
            case 'sign':
                $r = LookalikeSync::sign($step['secret'], $step['id'], $step['ts'], $step['body']);
                break;
            case 'format_price':
                $r = LookalikeSync::formatPrice($step['amount'], $step['currency']);
                break;
            case 'page_url':
                $r = LookalikeSync::pageUrl($step['element']);
                break;
            case 'status':
                $r = LookalikeSync::status();
                break;
            case 'install':
            case 'uninstall':
                $module = CModule::CreateModuleObject('lookalike.sync');
                if (!$module) {
                    throw new RuntimeException('no lookalike.sync module under ' . $_SERVER['DOCUMENT_ROOT']);
                }
                ob_start();
                try {
                    $returned = $step['do'] === 'install' ? $module->DoInstall() : $module->DoUninstall();
                } catch (LookalikeTestEnd $end) {
                    $returned = 'ended';
                }
                $ex = $APPLICATION->GetException();
                $r = array('html' => ob_get_clean(), 'title' => $APPLICATION->title, 'exception' => $ex ? $ex->GetString() : null,
                    'name' => $module->MODULE_NAME, 'version' => $module->MODULE_VERSION);
                break;
            case 'page':
                $pages = array(
                    'options' => $_SERVER['DOCUMENT_ROOT'] . '/local/modules/lookalike.sync/options.php',
                    'backfill' => $_SERVER['DOCUMENT_ROOT'] . '/bitrix/admin/lookalike_sync_backfill.php',
                    'menu' => $_SERVER['DOCUMENT_ROOT'] . '/local/modules/lookalike.sync/admin/menu.php',
                );
                $_GET = isset($step['get']) ? $step['get'] : array();
                $_POST = isset($step['post']) ? $step['post'] : array();
                $_SERVER['REQUEST_METHOD'] = $_POST ? 'POST' : 'GET';
                if ($_POST && (!isset($step['sessid']) || $step['sessid'] !== false)) {
                    $_POST['sessid'] = bitrix_sessid();
                }
                $_REQUEST = array_merge($_GET, $_POST);
                $redirect = null;
                ob_start();
                try {
                    $returned = include $pages[$step['file']];
                } catch (LookalikeTestRedirect $to) {
                    $redirect = $to->getMessage();
                    $returned = null;
                } catch (LookalikeTestEnd $end) {
                    $returned = null;
                }
                $r = array('html' => ob_get_clean(), 'redirect' => $redirect, 'returned' => $returned === 1 ? null : $returned, 'title' => $APPLICATION->title);
                break;
            case 'component':
                ob_start();
                $APPLICATION->IncludeComponent($step['name'], isset($step['template']) ? $step['template'] : '', isset($step['params']) ? $step['params'] : array());
                $r = ob_get_clean();
                break;
            case 'component_file':
                // What the visual editor reads: .description.php or .parameters.php of a component.
                $arComponentDescription = $arComponentParameters = null;
                include $_SERVER['DOCUMENT_ROOT'] . '/bitrix/components/' . str_replace(':', '/', $step['name']) . '/' . $step['file'];
                $r = $arComponentDescription !== null ? $arComponentDescription : $arComponentParameters;
                break;
            case 'ping':
                $r = LookalikeSync::ping();
                break;
            case 'backfill_step':
                $r = LookalikeSync::backfillStep($step['cursor'], isset($step['limit']) ? $step['limit'] : 50);
                break;
            case 'sleep':
                usleep((int) ($step['seconds'] * 1e6));
                break;
            default:
                throw new InvalidArgumentException("step $i: unknown action {$step['do']}");
        }
        $GLOBALS['driver_out']['results'][] = $r;
    }
} catch (Throwable $e) {
    $GLOBALS['driver_out']['error'] = get_class($e) . ': ' . $e->getMessage() . ' at ' . $e->getFile() . ':' . $e->getLine();
    exit(1);
}
