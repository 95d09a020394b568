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
            self::$agents = isset($db['agents']) ? $db['agents'] : array();
        }

        public static function dump()
        {
            return array(
                'elements' => array_values(self::$elements),
                'files' => self::$files,
                'products' => array_values(self::$products),
                'prices' => array_values(self::$prices),
                'modules' => self::$modules,
                'agents' => self::$agents,
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
            foreach (LookalikeTestDB::$elements as $el) {
                if (!self::matches($el, (array) $arFilter)) {
                    continue;
                }
                $rows[] = self::select($el, (array) $arSelectFields);
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
            $id = count(LookalikeTestDB::$agents) + 1;
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
                $rows[] = $a;
            }
            return new LookalikeTestResult($rows);
        }

        /** As CAgent::CheckAgents: evaluates each agent's call string; a non-empty result is its next call. */
        public static function RunAgents()
        {
            $out = array();
            foreach (LookalikeTestDB::$agents as $id => $a) {
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
        public static function includeModule($moduleName)
        {
            return in_array($moduleName, \LookalikeTestDB::$modules, true);
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

        /** Test helper: sends an Event to the handlers of (module, type); returns how many ran. */
        public function fire($moduleId, $type, array $parameters)
        {
            $handlers = isset($this->handlers[strtolower($moduleId)][strtolower($type)])
                ? $this->handlers[strtolower($moduleId)][strtolower($type)] : array();
            $event = new Event($moduleId, $type, $parameters);
            foreach ($handlers as $cb) {
                call_user_func($cb, $event);
            }
            return count($handlers);
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
