<?php
/**
 * Test driver: plays one Bitrix request against lookalike.php with the
 * stand-ins of stubs.php, as init.php would load it.
 *
 *   php driver.php SCENARIO.json
 *
 * The scenario is {"config": {CONSTANT: value}, "db": {...fixture...},
 * "db_charset": "windows-1251"?, "steps": [{"do": ...}, ...]}. The driver
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
 *
 * Without an end_request step, the events are sent at shutdown (the
 * handler's fallback for scripts that never reach Bitrix's epilog).
 */

require __DIR__ . '/stubs.php';

$scenario = json_decode((string) file_get_contents($argv[1]), true);
if (!is_array($scenario)) {
    fwrite(STDERR, "driver: cannot read the scenario {$argv[1]}\n");
    exit(2);
}

foreach (isset($scenario['config']) ? $scenario['config'] : array() as $name => $value) {
    define($name, $value);
}
$db = isset($scenario['db']) ? $scenario['db'] : array();
if (!empty($scenario['db_charset'])) {
    // A site whose database is not UTF-8: every string as the site stores it.
    array_walk_recursive($db, function (&$v) use ($scenario) {
        if (is_string($v)) {
            $v = iconv('UTF-8', $scenario['db_charset'], $v);
        }
    });
}
LookalikeTestDB::load($db);

$GLOBALS['driver_out'] = array('results' => array(), 'log' => array(), 'error' => null);
function driver_print()
{
    $out = $GLOBALS['driver_out'];
    $out['requests'] = \Bitrix\Main\Web\HttpClient::$log;
    $out['db'] = LookalikeTestDB::dump();
    echo json_encode($out, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PRETTY_PRINT), "\n";
}
// Print after every other shutdown function, the handler's flush included.
register_shutdown_function(function () {
    register_shutdown_function('driver_print');
});

// What init.php does.
require __DIR__ . '/../lookalike.php';
LookalikeSync::$logger = function ($line) {
    $GLOBALS['driver_out']['log'][] = $line;
};
LookalikeSync::register();

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
