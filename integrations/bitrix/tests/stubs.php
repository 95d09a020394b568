<?php
/**
 * Minimal stand-ins for the parts of 1C-Bitrix that lookalike.php calls, so
 * that the handler runs under the plain php CLI in tests. Data comes from
 * LookalikeTestDB (a JSON fixture the Go test writes); HttpClient really
 * does HTTP (PHP streams, no curl) and records every request.
 *
 * These follow the real signatures closely enough for the handler; they are
 * not a Bitrix emulator.
 */

namespace {

    /** The fake Bitrix database: elements, files, catalogue products, prices, agents. */
    final class LookalikeTestDB
    {
        /** @var array<int, array> element fields by id; 'PROPERTIES' => [CODE => value] */
        public static $elements = array();
        /** @var array<int, string> CFile paths by file id */
        public static $files = array();
        /** @var array<int, array> CCatalogProduct rows by element id */
        public static $products = array();
        /** @var array<int, array> b_catalog_price rows by price id (ID, PRODUCT_ID, CATALOG_GROUP_ID, PRICE, CURRENCY, QUANTITY_FROM) */
        public static $prices = array();
        /** @var int the base price group */
        public static $baseGroup = 1;
        /** @var string[] installed modules */
        public static $modules = array('main', 'iblock', 'catalog');
        /** @var array<int, array> agents by id */
        public static $agents = array();
        /** @var array<string, array<string, callable[]>> old-style handlers: module => event => callbacks */
        public static $handlers = array();
        /** @var array[] b_module_to_module: FROM_MODULE_ID, MESSAGE_ID, TO_MODULE_ID, TO_CLASS, TO_METHOD, SORT, VERSION */
        public static $moduleHandlers = array();
        /** @var array<string, array<string, string>> b_option: module => name => value */
        public static $options = array();
        /** @var array[] info blocks: ID, NAME, IBLOCK_TYPE_ID */
        public static $iblocks = array();

        public static function load(array $db)
        {
            self::$elements = array();
            foreach (isset($db['elements']) ? $db['elements'] : array() as $el) {
                self::$elements[(int) $el['ID']] = $el;
            }
            self::$files = array();
            foreach (isset($db['files']) ? $db['files'] : array() as $id => $path) {
                self::$files[(int) $id] = $path;
            }
            self::$products = array();
            foreach (isset($db['products']) ? $db['products'] : array() as $p) {
                self::$products[(int) $p['ID']] = $p;
            }
            self::$prices = array();
            foreach (isset($db['prices']) ? $db['prices'] : array() as $p) {
                self::$prices[(int) $p['ID']] = $p;
            }
            if (isset($db['modules'])) {
                self::$modules = $db['modules'];
            }
            self::$agents = array();
            foreach (isset($db['agents']) ? $db['agents'] : array() as $a) {
                self::$agents[(int) $a['ID']] = $a;
            }
            self::$moduleHandlers = isset($db['module_handlers']) ? $db['module_handlers'] : array();
            self::$options = array();
            foreach (isset($db['options']) ? $db['options'] : array() as $module => $values) {
                foreach ($values as $name => $value) {
                    self::$options[$module][$name] = (string) $value;
                }
            }
            self::$iblocks = isset($db['iblocks']) ? $db['iblocks'] : array();
        }

        public static function dump()
        {
            return array(
                'elements' => array_values(self::$elements),
                'files' => self::$files,
                'products' => array_values(self::$products),
                'prices' => array_values(self::$prices),
                'modules' => array_values(self::$modules),
                'agents' => array_values(self::$agents),
                'module_handlers' => array_values(self::$moduleHandlers),
                'options' => (object) array_map(function ($v) {
                    return (object) $v;
                }, self::$options),
                'iblocks' => self::$iblocks,
            );
        }
    }

    /** A CDBResult / D7 Result over rows (PHP method names ignore case: Fetch is also fetch). */
    final class LookalikeTestResult
    {
        private $rows;

        public function __construct(array $rows)
        {
            $this->rows = array_values($rows);
        }

        public function Fetch()
        {
            return $this->rows ? array_shift($this->rows) : false;
        }

        public function GetNext()
        {
            return $this->Fetch();
        }

        public function SelectedRowsCount()
        {
            return count($this->rows);
        }
    }

    function AddEventHandler($fromModuleId, $messageId, $callback, $sort = 100, $fullPath = false)
    {
        LookalikeTestDB::$handlers[strtolower($fromModuleId)][strtolower($messageId)][] = $callback;
        return count(LookalikeTestDB::$handlers[strtolower($fromModuleId)][strtolower($messageId)]);
    }

    /** As Bitrix's ExecuteModuleEventEx: calls the handlers with the arguments (by reference). */
    function LookalikeTestFireModuleEvent($module, $event, array &$args)
    {
        $results = array();
        $module = strtolower($module);
        $event = strtolower($event);
        $handlers = isset(LookalikeTestDB::$handlers[$module][$event]) ? LookalikeTestDB::$handlers[$module][$event] : array();
        // And those registered in the database (RegisterModuleDependences),
        // as ExecuteModuleEventEx runs them: the module included first.
        foreach (\Bitrix\Main\EventManager::getInstance()->findEventHandlers($module, $event) as $h) {
            if (empty($h['FROM_DB']) || !\Bitrix\Main\Loader::includeModule($h['TO_MODULE_ID'])) {
                continue;
            }
            $handlers[] = array($h['TO_CLASS'], $h['TO_METHOD']);
        }
        foreach ($handlers as $cb) {
            $refs = array();
            foreach ($args as $k => &$v) {
                $refs[$k] = &$v;
            }
            unset($v);
            $results[] = call_user_func_array($cb, $refs);
        }
        return $results;
    }

    function MakeTimeStamp($datetime, $format = false)
    {
        $t = strtotime((string) $datetime);
        return $t === false ? 0 : $t;
    }

    class CIBlockElement
    {
        public static $queries = 0;

        public static function GetList($arOrder = array(), $arFilter = array(), $arGroupBy = false, $arNavStartParams = false, $arSelectFields = array())
        {
            self::$queries++;
            $rows = array();
            $elements = LookalikeTestDB::$elements;
            if (isset($arOrder['ID'])) {
                ksort($elements);
                if (strtoupper($arOrder['ID']) === 'DESC') {
                    $elements = array_reverse($elements, true);
                }
            }
            foreach ($elements as $el) {
                if (!self::matches($el, (array) $arFilter)) {
                    continue;
                }
                $rows[] = self::select($el, (array) $arSelectFields);
            }
            if ($arGroupBy === array()) {
                return count($rows); // as Bitrix: an empty grouping counts
            }
            if (is_array($arNavStartParams) && isset($arNavStartParams['nTopCount'])) {
                $rows = array_slice($rows, 0, (int) $arNavStartParams['nTopCount']);
            }
            return new LookalikeTestResult($rows);
        }

        public static function GetByID($id)
        {
            return self::GetList(array(), array('ID' => (int) $id));
        }

        /** Rows of an element's property (a list value gives one row per item), as CIBlockElement::GetProperty. */
        public static function GetProperty($iblockId, $elementId, $order = array(), $filter = array())
        {
            $el = isset(LookalikeTestDB::$elements[(int) $elementId]) ? LookalikeTestDB::$elements[(int) $elementId] : null;
            $code = isset($filter['CODE']) ? $filter['CODE'] : '';
            $rows = array();
            if ($el !== null && isset($el['PROPERTIES'][$code])) {
                foreach ((array) $el['PROPERTIES'][$code] as $v) {
                    $rows[] = array('CODE' => $code, 'VALUE' => $v);
                }
            }
            return new LookalikeTestResult($rows);
        }

        public static function GetIBlockByID($id)
        {
            $id = (int) $id;
            return isset(LookalikeTestDB::$elements[$id]) ? (int) LookalikeTestDB::$elements[$id]['IBLOCK_ID'] : false;
        }

        private static function matches(array $el, array $filter)
        {
            foreach ($filter as $key => $want) {
                if (strncmp($key, '>', 1) === 0 && $key[1] !== '=') {
                    $field = substr($key, 1);
                    if (!isset($el[$field]) || (float) $el[$field] <= (float) $want) {
                        return false;
                    }
                    continue;
                }
                $field = ltrim($key, '=');
                if (in_array($field, array('SHOW_HISTORY', 'SHOW_NEW', 'CHECK_PERMISSIONS'), true)) {
                    continue;
                }
                $have = isset($el[$field]) ? $el[$field] : null;
                if (is_array($want) ? !in_array($have, $want) : (string) $have !== (string) $want) {
                    return false;
                }
            }
            return true;
        }

        private static function select(array $el, array $select)
        {
            if (!$select) {
                $select = array_keys($el);
            }
            $row = array();
            foreach ($select as $field) {
                if (strncmp($field, 'PROPERTY_', 9) === 0) {
                    $code = substr($field, 9);
                    $props = isset($el['PROPERTIES']) ? $el['PROPERTIES'] : array();
                    $row['PROPERTY_' . strtoupper($code) . '_VALUE'] = isset($props[$code]) ? $props[$code] : null;
                    continue;
                }
                if ($field === 'TIMESTAMP_X_UNIX') {
                    $row[$field] = isset($el['TIMESTAMP_X']) ? (string) MakeTimeStamp($el['TIMESTAMP_X']) : null;
                    continue;
                }
                $row[$field] = isset($el[$field]) ? $el[$field] : null;
            }
            return $row;
        }
    }

    class CIBlock
    {
        /** The info blocks of the fixture ("iblocks"). */
        public static function GetList($arOrder = array('SORT' => 'ASC'), $arFilter = array(), $bIncCnt = false)
        {
            return new LookalikeTestResult(LookalikeTestDB::$iblocks);
        }

        /** Fills the #FIELD# templates of a page URL, as Bitrix does for an element ('E'). */
        public static function ReplaceDetailUrl($url, $arr, $server_name = false, $arrType = false)
        {
            $map = array(
                '#SITE_DIR#' => '/',
                '#ID#' => isset($arr['ID']) ? $arr['ID'] : '',
                '#ELEMENT_ID#' => isset($arr['ID']) ? $arr['ID'] : '',
                '#CODE#' => isset($arr['CODE']) ? $arr['CODE'] : '',
                '#ELEMENT_CODE#' => isset($arr['CODE']) ? $arr['CODE'] : '',
                '#IBLOCK_ID#' => isset($arr['IBLOCK_ID']) ? $arr['IBLOCK_ID'] : '',
            );
            return strtr((string) $url, $map);
        }
    }

    class CFile
    {
        public static function GetPath($fileId)
        {
            $fileId = (int) $fileId;
            return isset(LookalikeTestDB::$files[$fileId]) ? LookalikeTestDB::$files[$fileId] : null;
        }
    }

    class CCatalogProduct
    {
        public static function GetByID($id)
        {
            $id = (int) $id;
            return isset(LookalikeTestDB::$products[$id]) ? LookalikeTestDB::$products[$id] : false;
        }
    }

    /** Trade offers: elements with a CML2_LINK to their parent product. */
    class CCatalogSku
    {
        public static function GetProductInfo($offerId, $iblockId = 0)
        {
            $offer = isset(LookalikeTestDB::$elements[(int) $offerId]) ? LookalikeTestDB::$elements[(int) $offerId] : null;
            if ($offer === null || empty($offer['CML2_LINK']) || !isset(LookalikeTestDB::$elements[(int) $offer['CML2_LINK']])) {
                return false;
            }
            $parent = LookalikeTestDB::$elements[(int) $offer['CML2_LINK']];
            return array('ID' => (int) $parent['ID'], 'IBLOCK_ID' => (int) $parent['IBLOCK_ID'], 'OFFER_IBLOCK_ID' => (int) $offer['IBLOCK_ID']);
        }

        public static function getOffersList($productId, $iblockId = 0, $skuFilter = array(), $fields = array(), $propertyFilter = array())
        {
            $out = array();
            foreach ((array) $productId as $pid) {
                foreach (LookalikeTestDB::$elements as $el) {
                    if (empty($el['CML2_LINK']) || (int) $el['CML2_LINK'] !== (int) $pid) {
                        continue;
                    }
                    if (isset($skuFilter['ACTIVE']) && (isset($el['ACTIVE']) ? $el['ACTIVE'] : 'Y') !== $skuFilter['ACTIVE']) {
                        continue;
                    }
                    $row = array();
                    foreach ($fields ? $fields : array_keys($el) as $f) {
                        $row[$f] = isset($el[$f]) ? $el[$f] : null;
                    }
                    $out[(int) $pid][(int) $el['ID']] = $row;
                }
            }
            return $out;
        }
    }

    class CAgent
    {
        public static function AddAgent($name, $module = '', $period = 'N', $interval = 86400, $datecheck = '', $active = 'Y', $next_exec = '', $sort = 100)
        {
            foreach (LookalikeTestDB::$agents as $a) {
                if ($a['NAME'] === $name && $a['MODULE_ID'] === $module) {
                    return false;
                }
            }
            $id = LookalikeTestDB::$agents ? max(array_keys(LookalikeTestDB::$agents)) + 1 : 1;
            LookalikeTestDB::$agents[$id] = array('ID' => $id, 'NAME' => $name, 'MODULE_ID' => $module,
                'IS_PERIOD' => $period, 'AGENT_INTERVAL' => (int) $interval, 'ACTIVE' => $active);
            return $id;
        }

        public static function GetList($arOrder = array(), $arFilter = array())
        {
            $rows = array();
            foreach (LookalikeTestDB::$agents as $a) {
                if (isset($arFilter['NAME']) && $a['NAME'] !== $arFilter['NAME']) {
                    continue;
                }
                if (isset($arFilter['MODULE_ID']) && (string) $a['MODULE_ID'] !== (string) $arFilter['MODULE_ID']) {
                    continue;
                }
                $rows[] = $a;
            }
            return new LookalikeTestResult($rows);
        }

        public static function RemoveAgent($name, $module = '', $user_id = false)
        {
            foreach (LookalikeTestDB::$agents as $id => $a) {
                if ($a['NAME'] === $name && (string) $a['MODULE_ID'] === trim((string) $module)) {
                    unset(LookalikeTestDB::$agents[$id]);
                }
            }
        }

        public static function RemoveModuleAgents($module)
        {
            if ((string) $module === '') {
                return;
            }
            foreach (LookalikeTestDB::$agents as $id => $a) {
                if ($a['MODULE_ID'] === $module) {
                    unset(LookalikeTestDB::$agents[$id]);
                }
            }
        }

        /**
         * As CAgent::CheckAgents: includes the agent's module, evaluates its
         * call string; a non-empty result is its next call.
         */
        public static function RunAgents()
        {
            $out = array();
            foreach (LookalikeTestDB::$agents as $id => $a) {
                if ($a['MODULE_ID'] !== '' && $a['MODULE_ID'] !== 'main' && !\Bitrix\Main\Loader::includeModule($a['MODULE_ID'])) {
                    $out[] = array('name' => $a['NAME'], 'returned' => 'module not included');
                    continue;
                }
                $eval_result = '';
                eval('$eval_result = ' . $a['NAME']);
                $out[] = array('name' => $a['NAME'], 'returned' => $eval_result);
                if ($eval_result === '' || $eval_result === null) {
                    unset(LookalikeTestDB::$agents[$id]);
                } else {
                    LookalikeTestDB::$agents[$id]['NAME'] = $eval_result;
                }
            }
            return $out;
        }
    }
}

namespace Bitrix\Main {

    final class Loader
    {
        private static $included = array();

        /** An installed module; its include.php (found as getLocal finds it) runs once. */
        public static function includeModule($moduleName)
        {
            if (!ModuleManager::isModuleInstalled($moduleName)) {
                return false;
            }
            if (!isset(self::$included[$moduleName])) {
                self::$included[$moduleName] = true;
                $path = self::getLocal('modules/' . $moduleName . '/include.php');
                if ($path !== false) {
                    include_once $path;
                }
            }
            return true;
        }

        /** A path under /local/, else /bitrix/, of the document root; false when neither exists. */
        public static function getLocal($path, $root = null)
        {
            $root = $root === null ? (isset($_SERVER['DOCUMENT_ROOT']) ? $_SERVER['DOCUMENT_ROOT'] : '') : $root;
            if ($root === '') {
                return false;
            }
            foreach (array('/local/', '/bitrix/') as $dir) {
                if (file_exists($root . $dir . $path)) {
                    return $root . $dir . $path;
                }
            }
            return false;
        }

        /** Class => file relative to the module's folder, loaded on first use. */
        public static function registerAutoLoadClasses($moduleName, array $classes)
        {
            $dir = self::getLocal('modules/' . $moduleName);
            $map = array();
            foreach ($classes as $class => $file) {
                $map[strtolower(ltrim($class, '\\'))] = $dir . '/' . $file;
            }
            spl_autoload_register(function ($class) use ($map) {
                $class = strtolower(ltrim($class, '\\'));
                if (isset($map[$class])) {
                    require_once $map[$class];
                }
            });
        }
    }

    /** b_module: the installed modules (LookalikeTestDB::$modules). */
    final class ModuleManager
    {
        public static function isModuleInstalled($moduleName)
        {
            return in_array($moduleName, \LookalikeTestDB::$modules, true);
        }

        public static function registerModule($moduleName)
        {
            if (!self::isModuleInstalled($moduleName)) {
                \LookalikeTestDB::$modules[] = $moduleName;
            }
        }

        /** As Bitrix: the module's agents go with it (its options and handlers do not). */
        public static function unRegisterModule($moduleName)
        {
            \CAgent::RemoveModuleAgents($moduleName);
            \LookalikeTestDB::$modules = array_values(array_diff(\LookalikeTestDB::$modules, array($moduleName)));
        }
    }

    class Event
    {
        private $moduleId;
        private $type;
        private $parameters;

        public function __construct($moduleId, $type, $parameters = array())
        {
            $this->moduleId = $moduleId;
            $this->type = $type;
            $this->parameters = $parameters;
        }

        public function getModuleId()
        {
            return $this->moduleId;
        }

        public function getEventType()
        {
            return $this->type;
        }

        public function getParameters()
        {
            return $this->parameters;
        }

        public function getParameter($key)
        {
            return isset($this->parameters[$key]) ? $this->parameters[$key] : null;
        }
    }

    final class EventManager
    {
        private static $instance;
        /** @var array<string, array<string, callable[]>> */
        public $handlers = array();

        public static function getInstance()
        {
            if (self::$instance === null) {
                self::$instance = new self();
            }
            return self::$instance;
        }

        public function addEventHandler($fromModuleId, $eventType, $callback, $includeFile = false, $sort = 100)
        {
            $this->handlers[strtolower($fromModuleId)][strtolower($eventType)][] = $callback;
            return count($this->handlers[strtolower($fromModuleId)][strtolower($eventType)]);
        }

        /** b_module_to_module, version 2: the handler gets one Event. */
        public function registerEventHandler($fromModuleId, $eventType, $toModuleId, $toClass = '', $toMethod = '', $sort = 100, $toPath = '', $toMethodArg = array())
        {
            $this->register($fromModuleId, $eventType, $toModuleId, $toClass, $toMethod, $sort, 2);
        }

        /** b_module_to_module, version 1 (RegisterModuleDependences): the handler gets the event's arguments. */
        public function registerEventHandlerCompatible($fromModuleId, $eventType, $toModuleId, $toClass = '', $toMethod = '', $sort = 100, $toPath = '', $toMethodArg = array())
        {
            $this->register($fromModuleId, $eventType, $toModuleId, $toClass, $toMethod, $sort, 1);
        }

        private function register($from, $type, $to, $class, $method, $sort, $version)
        {
            foreach (\LookalikeTestDB::$moduleHandlers as $h) {
                if ($this->same($h, $from, $type, $to, $class, $method) && (int) $h['VERSION'] === $version) {
                    return; // INSERT IGNORE on the unique id
                }
            }
            \LookalikeTestDB::$moduleHandlers[] = array('FROM_MODULE_ID' => $from, 'MESSAGE_ID' => $type, 'TO_MODULE_ID' => $to,
                'TO_CLASS' => $class, 'TO_METHOD' => $method, 'SORT' => (int) $sort, 'VERSION' => $version);
        }

        public function unRegisterEventHandler($fromModuleId, $eventType, $toModuleId, $toClass = '', $toMethod = '', $toPath = '', $toMethodArg = array())
        {
            foreach (\LookalikeTestDB::$moduleHandlers as $i => $h) {
                if ($this->same($h, $fromModuleId, $eventType, $toModuleId, $toClass, $toMethod)) {
                    unset(\LookalikeTestDB::$moduleHandlers[$i]);
                }
            }
            \LookalikeTestDB::$moduleHandlers = array_values(\LookalikeTestDB::$moduleHandlers);
        }

        private function same(array $h, $from, $type, $to, $class, $method)
        {
            return strcasecmp($h['FROM_MODULE_ID'], $from) === 0 && strcasecmp($h['MESSAGE_ID'], $type) === 0
                && strcasecmp($h['TO_MODULE_ID'], $to) === 0 && strcasecmp($h['TO_CLASS'], $class) === 0
                && strcasecmp($h['TO_METHOD'], $method) === 0;
        }

        /** The registered (database) handlers of an event, by SORT, each marked FROM_DB. */
        public function findEventHandlers($eventModuleId, $eventType)
        {
            $out = array();
            foreach (\LookalikeTestDB::$moduleHandlers as $h) {
                if (strcasecmp($h['FROM_MODULE_ID'], $eventModuleId) === 0 && strcasecmp($h['MESSAGE_ID'], $eventType) === 0) {
                    $out[] = $h + array('FROM_DB' => true);
                }
            }
            usort($out, function ($a, $b) {
                return $a['SORT'] - $b['SORT'];
            });
            return $out;
        }

        /**
         * Test helper: sends an Event to the handlers of (module, type), as
         * EventManager::send: runtime ones, then registered ones with their
         * module included first. Returns how many ran.
         */
        public function fire($moduleId, $type, array $parameters)
        {
            $handlers = isset($this->handlers[strtolower($moduleId)][strtolower($type)])
                ? $this->handlers[strtolower($moduleId)][strtolower($type)] : array();
            $event = new Event($moduleId, $type, $parameters);
            $ran = 0;
            foreach ($handlers as $cb) {
                call_user_func($cb, $event);
                $ran++;
            }
            foreach ($this->findEventHandlers($moduleId, $type) as $h) {
                if (!Loader::includeModule($h['TO_MODULE_ID'])) {
                    continue;
                }
                $args = (int) $h['VERSION'] > 1 ? array($event) : array_values($parameters);
                call_user_func_array(array($h['TO_CLASS'], $h['TO_METHOD']), $args);
                $ran++;
            }
            return $ran;
        }
    }

    final class Application
    {
        private static $instance;
        private $jobs = array();

        public static function getInstance()
        {
            if (self::$instance === null) {
                self::$instance = new self();
            }
            return self::$instance;
        }

        public function addBackgroundJob(callable $job, array $args = array(), $priority = 0)
        {
            $this->jobs[] = array($job, $args);
        }

        /** Test helper: what Application::terminate does after the response. */
        public function runBackgroundJobs()
        {
            $n = 0;
            while ($this->jobs) {
                list($job, $args) = array_shift($this->jobs);
                call_user_func_array($job, $args);
                $n++;
            }
            return $n;
        }
    }
}

namespace Bitrix\Main\Web {

    /**
     * Bitrix\Main\Web\HttpClient over PHP's http stream wrapper. Options
     * used: socketTimeout, streamTimeout, redirect. Every request is
     * recorded in HttpClient::$log.
     */
    class HttpClient
    {
        /** @var array[] every request: method, url, headers, body, options, status, error, seconds */
        public static $log = array();

        private $options;
        private $headers = array();
        private $status = 0;
        private $result = '';
        private $errors = array();

        public function __construct(array $options = null)
        {
            $this->options = $options === null ? array() : $options;
        }

        public function setHeader($name, $value, $replace = true)
        {
            if ($replace || !isset($this->headers[$name])) {
                $this->headers[$name] = $value;
            }
            return $this;
        }

        public function setTimeout($timeout)
        {
            $this->options['socketTimeout'] = $timeout;
            return $this;
        }

        public function setStreamTimeout($timeout)
        {
            $this->options['streamTimeout'] = $timeout;
            return $this;
        }

        public function post($url, $postData = null, $multipart = false)
        {
            return $this->query('POST', $url, $postData);
        }

        public function get($url)
        {
            return $this->query('GET', $url, null);
        }

        public function query($method, $url, $entityBody = null)
        {
            $this->status = 0;
            $this->result = '';
            $this->errors = array();
            $lines = array();
            foreach ($this->headers as $k => $v) {
                $lines[] = $k . ': ' . $v;
            }
            $connect = isset($this->options['socketTimeout']) ? (float) $this->options['socketTimeout'] : 30.0;
            $stream = isset($this->options['streamTimeout']) ? (float) $this->options['streamTimeout'] : 60.0;
            $ctx = stream_context_create(array('http' => array(
                'method' => $method,
                'header' => implode("\r\n", $lines),
                'content' => (string) $entityBody,
                'timeout' => $stream,
                'ignore_errors' => true,
                'follow_location' => empty($this->options['redirect']) ? 0 : 1,
                'protocol_version' => 1.0,
            )));
            $oldTimeout = ini_get('default_socket_timeout');
            ini_set('default_socket_timeout', (string) $connect);
            $warning = '';
            set_error_handler(function ($no, $str) use (&$warning) {
                $warning = $str;
                return true;
            });
            $start = microtime(true);
            $body = file_get_contents($url, false, $ctx);
            $seconds = microtime(true) - $start;
            restore_error_handler();
            ini_set('default_socket_timeout', $oldTimeout);

            $responseHeaders = function_exists('http_get_last_response_headers')
                ? http_get_last_response_headers()
                : (isset($http_response_header) ? $http_response_header : null);
            if ($body === false || !$responseHeaders) {
                $this->errors['NETWORK'] = $warning !== '' ? $warning : 'request failed';
                $result = false;
            } else {
                if (preg_match('#^HTTP/\S+\s+(\d{3})#', $responseHeaders[0], $m)) {
                    $this->status = (int) $m[1];
                }
                $this->result = $body;
                $result = $body;
            }
            self::$log[] = array(
                'method' => $method,
                'url' => $url,
                'headers' => $this->headers,
                'body' => (string) $entityBody,
                'options' => $this->options,
                'status' => $this->status,
                'error' => $this->errors ? implode('; ', $this->errors) : '',
                'seconds' => round($seconds, 3),
            );
            return $result;
        }

        public function getStatus()
        {
            return $this->status;
        }

        public function getResult()
        {
            return $this->result;
        }

        public function getError()
        {
            return $this->errors;
        }
    }
}

namespace Bitrix\Catalog {

    final class PriceTable
    {
        /** getList with the filters the handler uses: =ID, =PRODUCT_ID, =CATALOG_GROUP_ID, =CATALOG_GROUP.BASE. */
        public static function getList(array $parameters = array())
        {
            $filter = isset($parameters['filter']) ? $parameters['filter'] : array();
            $rows = array();
            foreach (\LookalikeTestDB::$prices as $p) {
                $ok = true;
                foreach ($filter as $key => $want) {
                    switch (ltrim($key, '=')) {
                        case 'ID':
                        case 'PRODUCT_ID':
                        case 'CATALOG_GROUP_ID':
                            $ok = $ok && (int) $p[ltrim($key, '=')] === (int) $want;
                            break;
                        case 'CATALOG_GROUP.BASE':
                            $isBase = (int) $p['CATALOG_GROUP_ID'] === \LookalikeTestDB::$baseGroup;
                            $ok = $ok && ($isBase === ($want === 'Y'));
                            break;
                        default:
                            throw new \InvalidArgumentException('PriceTable stub: unsupported filter ' . $key);
                    }
                }
                if ($ok) {
                    $rows[] = $p;
                }
            }
            if (isset($parameters['order']['QUANTITY_FROM'])) {
                usort($rows, function ($a, $b) {
                    $qa = isset($a['QUANTITY_FROM']) ? (int) $a['QUANTITY_FROM'] : -1;
                    $qb = isset($b['QUANTITY_FROM']) ? (int) $b['QUANTITY_FROM'] : -1;
                    return $qa - $qb;
                });
            }
            if (isset($parameters['limit'])) {
                $rows = array_slice($rows, 0, (int) $parameters['limit']);
            }
            if (!empty($parameters['select'])) {
                $selected = array();
                foreach ($rows as $r) {
                    $row = array();
                    foreach ($parameters['select'] as $f) {
                        $row[$f] = isset($r[$f]) ? $r[$f] : null;
                    }
                    $selected[] = $row;
                }
                $rows = $selected;
            }
            return new \LookalikeTestResult($rows);
        }
    }
}

namespace Bitrix\Main\Config {

    /** b_option (LookalikeTestDB::$options), with the module's default_option.php. */
    final class Option
    {
        public static function get($moduleId, $name, $default = '', $siteId = false)
        {
            if (isset(\LookalikeTestDB::$options[$moduleId][$name])) {
                return \LookalikeTestDB::$options[$moduleId][$name];
            }
            if ($default == '') {
                $defaults = self::getDefaults($moduleId);
                if (isset($defaults[$name])) {
                    return $defaults[$name];
                }
            }
            return $default;
        }

        public static function getRealValue($moduleId, $name, $siteId = false)
        {
            return isset(\LookalikeTestDB::$options[$moduleId][$name]) ? \LookalikeTestDB::$options[$moduleId][$name] : null;
        }

        public static function set($moduleId, $name, $value = '', $siteId = '')
        {
            \LookalikeTestDB::$options[$moduleId][$name] = (string) $value;
        }

        public static function delete($moduleId, array $filter = array())
        {
            if (isset($filter['name'])) {
                unset(\LookalikeTestDB::$options[$moduleId][$filter['name']]);
                return;
            }
            unset(\LookalikeTestDB::$options[$moduleId]);
        }

        public static function getDefaults($moduleId)
        {
            $path = \Bitrix\Main\Loader::getLocal('modules/' . $moduleId . '/default_option.php');
            if ($path === false) {
                return array();
            }
            include $path;
            $var = str_replace('.', '_', $moduleId) . '_default_option';
            return isset($$var) && is_array($$var) ? $$var : array();
        }
    }
}

namespace Bitrix\Main\Localization {

    /**
     * Language files as Bitrix finds them: for .../modules/<id>/<path>,
     * .../modules/<id>/lang/<LANGUAGE_ID>/<path>. A missing file or message
     * is a warning, so a test sees it.
     */
    final class Loc
    {
        private static $messages = array();

        public static function loadMessages($file)
        {
            $file = str_replace('\\', '/', $file);
            if (!preg_match('#^(.*/modules/[^/]+)/(.+)$#', $file, $m) && !preg_match('#^(.*/components/[^/]+/[^/]+)/(.+)$#', $file, $m)) {
                return;
            }
            $path = $m[1] . '/lang/' . (defined('LANGUAGE_ID') ? LANGUAGE_ID : 'en') . '/' . $m[2];
            if (!is_file($path)) {
                trigger_error('Loc stub: no language file ' . $path, E_USER_WARNING);
                return;
            }
            $MESS = array();
            include $path;
            self::$messages = array_merge(self::$messages, $MESS);
        }

        public static function getMessage($code, $replace = null, $language = null)
        {
            if (!isset(self::$messages[$code])) {
                trigger_error('Loc stub: no message ' . $code, E_USER_WARNING);
                return $code;
            }
            $text = self::$messages[$code];
            return is_array($replace) ? strtr($text, array_map('strval', $replace)) : $text;
        }
    }
}

namespace {

    /** LocalRedirect: the script ends with a redirect (the driver records it). */
    final class LookalikeTestRedirect extends \Exception
    {
    }

    /** What die() ends in Bitrix (IncludeAdminFile, AuthForm). */
    final class LookalikeTestEnd extends \Exception
    {
    }

    class CApplicationException
    {
        private $message;
        private $id;

        public function __construct($message, $id = false)
        {
            $this->message = $message;
            $this->id = $id;
        }

        public function GetString()
        {
            return $this->message;
        }

        public function GetID()
        {
            return $this->id;
        }
    }

    /** $APPLICATION, as far as the module's pages use it. */
    class CMain
    {
        /** @var string the current user's right to every module: D (denied), R (read) or W (write) */
        public $right = 'W';
        public $title = '';
        public $curPage = '/bitrix/admin/settings.php';
        private $exception = false;

        public function GetGroupRight($moduleId, $groups = false, $useDefaultLevel = 'Y', $maxRightForSuperAdmin = 'Y')
        {
            return $this->right;
        }

        public function GetCurPage($getIndexPage = null)
        {
            return $this->curPage;
        }

        /** Drops what the page has buffered so far (nothing here: the prologs print nothing). */
        public function RestartBuffer()
        {
        }

        public function SetTitle($title)
        {
            $this->title = $title;
        }

        public function AuthForm($message)
        {
            echo '<div class="auth-form">', htmlspecialcharsbx(is_array($message) ? $message['MESSAGE'] : $message), '</div>';
            throw new LookalikeTestEnd();
        }

        public function ThrowException($message, $id = false)
        {
            $this->exception = new CApplicationException($message, $id);
        }

        public function GetException()
        {
            return $this->exception;
        }

        public function ResetException()
        {
            $this->exception = false;
        }

        /**
         * Runs a component ("lookalike:search.button") from /local/components/
         * or /bitrix/components/ with its template (".default" when empty).
         */
        public function IncludeComponent($name, $template = '', $params = array(), $parentComponent = null)
        {
            list($ns, $short) = explode(':', $name, 2);
            foreach (array('/local/components/', '/bitrix/components/') as $dir) {
                $path = $_SERVER['DOCUMENT_ROOT'] . $dir . $ns . '/' . $short;
                if (is_file($path . '/component.php')) {
                    $component = new CBitrixComponent($path, $template === '' ? '.default' : $template, $params);
                    return $component->run();
                }
            }
            trigger_error('IncludeComponent stub: no component ' . $name, E_USER_WARNING);
            return null;
        }

        /** Shows a step of an install (the title, the file), then ends the script. */
        public function IncludeAdminFile($title, $filepath)
        {
            global $APPLICATION;
            $this->title = $title;
            include $filepath;
            throw new LookalikeTestEnd();
        }
    }
    $GLOBALS['APPLICATION'] = new CMain();

    /** A component as CMain::IncludeComponent runs it: component.php, then its template. */
    class CBitrixComponent
    {
        public $arParams;
        public $arResult = array();
        private $path;
        private $templateName;

        public function __construct($path, $templateName, array $params)
        {
            $this->path = $path;
            $this->templateName = $templateName;
            $this->arParams = $params;
        }

        public function run()
        {
            global $APPLICATION;
            $arParams = &$this->arParams;
            $arResult = &$this->arResult;
            return include $this->path . '/component.php';
        }

        public function IncludeComponentTemplate($templatePage = '')
        {
            global $APPLICATION;
            $arParams = $this->arParams;
            $arResult = $this->arResult;
            $component = $this;
            $file = $this->path . '/templates/' . $this->templateName . '/' . ($templatePage === '' ? 'template' : $templatePage) . '.php';
            if (!is_file($file)) {
                trigger_error('CBitrixComponent stub: no template ' . $file, E_USER_WARNING);
                return;
            }
            include $file;
        }
    }

    class CAdminTabControl
    {
        private $name;
        private $tabs;
        private $open = false;
        private $tab = 0;

        public function __construct($name, $tabs, $canExpand = true, $denyAutoSave = false)
        {
            $this->name = $name;
            $this->tabs = array_values($tabs);
        }

        public function Begin()
        {
            echo '<div class="adm-detail-block" id="', htmlspecialcharsbx($this->name), '_layout">';
        }

        public function BeginNextTab()
        {
            $this->close();
            $tab = $this->tabs[$this->tab++];
            echo '<h2 class="adm-detail-title">', htmlspecialcharsbx($tab['TAB']), '</h2><table class="adm-detail-content-table" id="', htmlspecialcharsbx($tab['DIV']), '">';
            $this->open = true;
        }

        public function Buttons()
        {
            $this->close();
            echo '<div class="adm-detail-content-btns">';
        }

        public function End()
        {
            $this->close();
            echo '</div></div>';
        }

        public function ActiveTabParam()
        {
            return $this->name . '_active_tab=' . urlencode($this->tabs[0]['DIV']);
        }

        private function close()
        {
            if ($this->open) {
                echo '</table>';
                $this->open = false;
            }
        }
    }

    class CAdminMessage
    {
        /** MESSAGE and DETAILS are escaped unless HTML is true, as Bitrix does. */
        public static function ShowMessage($message)
        {
            if (!is_array($message)) {
                $message = array('MESSAGE' => $message, 'TYPE' => 'ERROR');
            }
            $html = !empty($message['HTML']);
            $text = function ($k) use ($message, $html) {
                $v = isset($message[$k]) ? (string) $message[$k] : '';
                return $html ? $v : htmlspecialcharsbx($v);
            };
            echo '<div class="adm-info-message adm-info-message-', strtolower(isset($message['TYPE']) ? $message['TYPE'] : 'ERROR'), '">',
                '<span class="adm-info-message-title">', $text('MESSAGE'), '</span> ', nl2br($text('DETAILS')), '</div>';
        }

        public static function ShowNote($message)
        {
            self::ShowMessage(array('MESSAGE' => $message, 'TYPE' => 'OK'));
        }
    }

    class CModule
    {
        public $MODULE_ID;
        public $MODULE_NAME;
        public $MODULE_VERSION;

        public static function IncludeModule($moduleName)
        {
            return \Bitrix\Main\Loader::includeModule($moduleName);
        }

        /** The module's install/index.php class, as Marketplace → Installed solutions creates it. */
        public static function CreateModuleObject($moduleName)
        {
            $path = \Bitrix\Main\Loader::getLocal('modules/' . $moduleName . '/install/index.php');
            if ($path === false) {
                return false;
            }
            include_once $path;
            $class = str_replace('.', '_', $moduleName);
            return class_exists($class) ? new $class() : false;
        }

        public function IsInstalled()
        {
            return \Bitrix\Main\ModuleManager::isModuleInstalled($this->MODULE_ID);
        }
    }

    function RegisterModule($id)
    {
        \Bitrix\Main\ModuleManager::registerModule($id);
    }

    function UnRegisterModule($id)
    {
        \Bitrix\Main\ModuleManager::unRegisterModule($id);
    }

    function IsModuleInstalled($id)
    {
        return \Bitrix\Main\ModuleManager::isModuleInstalled($id);
    }

    function RegisterModuleDependences($FROM_MODULE_ID, $MESSAGE_ID, $TO_MODULE_ID, $TO_CLASS = '', $TO_METHOD = '', $SORT = 100, $TO_PATH = '', $TO_METHOD_ARG = array())
    {
        \Bitrix\Main\EventManager::getInstance()->registerEventHandlerCompatible($FROM_MODULE_ID, $MESSAGE_ID, $TO_MODULE_ID, $TO_CLASS, $TO_METHOD, $SORT, $TO_PATH, $TO_METHOD_ARG);
    }

    function UnRegisterModuleDependences($FROM_MODULE_ID, $MESSAGE_ID, $TO_MODULE_ID, $TO_CLASS = '', $TO_METHOD = '', $TO_PATH = '', $TO_METHOD_ARG = array())
    {
        \Bitrix\Main\EventManager::getInstance()->unRegisterEventHandler($FROM_MODULE_ID, $MESSAGE_ID, $TO_MODULE_ID, $TO_CLASS, $TO_METHOD, $TO_PATH, $TO_METHOD_ARG);
    }

    function bitrix_sessid()
    {
        return 'lookalike-test-sessid';
    }

    function bitrix_sessid_post($varname = 'sessid')
    {
        return '<input type="hidden" name="' . $varname . '" id="' . $varname . '" value="' . bitrix_sessid() . '" />';
    }

    function bitrix_sessid_get($varname = 'sessid')
    {
        return $varname . '=' . bitrix_sessid();
    }

    function check_bitrix_sessid($varname = 'sessid')
    {
        return isset($_REQUEST[$varname]) && $_REQUEST[$varname] === bitrix_sessid();
    }

    function htmlspecialcharsbx($string, $flags = ENT_COMPAT, $doubleEncode = true)
    {
        return htmlspecialchars((string) $string, $flags | ENT_SUBSTITUTE, 'UTF-8', $doubleEncode);
    }

    function LocalRedirect($url, $skipSecurityCheck = false, $status = '302 Found')
    {
        throw new LookalikeTestRedirect($url);
    }

    /** Copies a folder's files (and, recursively, its folders) into another. */
    function CopyDirFiles($pathFrom, $pathTo, $rewrite = true, $recursive = false, $deleteAfterCopy = false, $exclude = '')
    {
        if (is_file($pathFrom)) {
            return ($rewrite || !file_exists($pathTo)) ? copy($pathFrom, $pathTo) : true;
        }
        if (!is_dir($pathTo) && !mkdir($pathTo, 0775, true)) {
            return false;
        }
        foreach (scandir($pathFrom) as $name) {
            if ($name === '.' || $name === '..' || (is_dir($pathFrom . '/' . $name) && !$recursive)) {
                continue;
            }
            CopyDirFiles($pathFrom . '/' . $name, $pathTo . '/' . $name, $rewrite, $recursive);
        }
        return true;
    }

    /** Deletes a file or a folder with all it holds, by its path from DOCUMENT_ROOT. */
    function DeleteDirFilesEx($path)
    {
        $full = rtrim($_SERVER['DOCUMENT_ROOT'] . '/' . ltrim($path, '/'), '/');
        if (is_file($full) || is_link($full)) {
            return unlink($full);
        }
        if (!is_dir($full)) {
            return false;
        }
        foreach (scandir($full) as $name) {
            if ($name !== '.' && $name !== '..') {
                DeleteDirFilesEx(substr($full, strlen($_SERVER['DOCUMENT_ROOT'])) . '/' . $name);
            }
        }
        return rmdir($full);
    }

    /** Deletes from $toDir the files that $frDir has. */
    function DeleteDirFiles($frDir, $toDir, $exceptions = array())
    {
        foreach (scandir($frDir) as $name) {
            if (is_file($frDir . '/' . $name) && !in_array($name, $exceptions, true) && is_file($toDir . '/' . $name)) {
                unlink($toDir . '/' . $name);
            }
        }
    }
}
