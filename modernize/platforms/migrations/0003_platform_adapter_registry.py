"""Ships the platform adapter registry (global reference data, owned by the platform).

The data is written out here, not imported from application code, so this migration
stays what it was when it ran. Later registry changes are new data migrations.
"""

from django.db import migrations


def _schema(properties: dict, required: list[str]) -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


DISCOVERY = ["asset_discovery", "inventory_sync"]

ADAPTERS = [
    {
        "adapter_name": "Amazon Web Services",
        "adapter_type": "cloud_provider",
        "version": "3.2.0",
        "description": "Discovers and targets AWS accounts through the AWS APIs (read-only IAM role for discovery).",
        "capabilities": DISCOVERY + ["cost_analysis", "dependency_mapping", "migration_execution", "landing_zone_validation"],
        "supported_platforms": ["ec2", "ebs", "rds", "aurora", "s3", "lambda", "eks", "ecs", "vpc", "elb", "dynamodb"],
        "required_credentials": ["access_key_id", "secret_access_key"],
        "configuration_schema": _schema(
            {
                "regions": {"type": "array", "items": {"type": "string"}, "default": ["us-east-1"]},
                "assume_role_arn": {"type": "string", "pattern": "^arn:aws:iam::[0-9]{12}:role/.+$"},
                "external_id": {"type": "string"},
                "organization_scan": {"type": "boolean", "default": False},
            },
            ["regions"],
        ),
    },
    {
        "adapter_name": "Microsoft Azure",
        "adapter_type": "cloud_provider",
        "version": "2.8.1",
        "description": "Azure Resource Manager discovery and Azure Migrate integration through a service principal.",
        "capabilities": DISCOVERY + ["cost_analysis", "dependency_mapping", "migration_execution"],
        "supported_platforms": ["virtual_machines", "managed_disks", "azure_sql", "cosmos_db", "aks", "app_service", "storage_accounts", "vnet"],
        "required_credentials": ["tenant_id", "client_id", "client_secret"],
        "configuration_schema": _schema(
            {
                "subscription_ids": {"type": "array", "items": {"type": "string", "format": "uuid"}},
                "cloud": {"type": "string", "enum": ["AzureCloud", "AzureUSGovernment", "AzureChinaCloud"], "default": "AzureCloud"},
                "azure_migrate_project": {"type": "string"},
            },
            ["subscription_ids"],
        ),
    },
    {
        "adapter_name": "Google Cloud Platform",
        "adapter_type": "cloud_provider",
        "version": "2.5.0",
        "description": "Cloud Asset Inventory discovery and Migrate to Virtual Machines through a service account.",
        "capabilities": DISCOVERY + ["cost_analysis", "migration_execution"],
        "supported_platforms": ["compute_engine", "persistent_disk", "cloud_sql", "gke", "cloud_storage", "bigquery", "vpc"],
        "required_credentials": ["service_account_json"],
        "configuration_schema": _schema(
            {
                "project_ids": {"type": "array", "items": {"type": "string"}},
                "organization_id": {"type": "string"},
                "asset_types": {"type": "array", "items": {"type": "string"}},
            },
            ["project_ids"],
        ),
    },
    {
        "adapter_name": "VMware vCenter",
        "adapter_type": "virtualization",
        "version": "8.0.2",
        "description": "Inventory and performance history of vSphere clusters, hosts and virtual machines.",
        "capabilities": DISCOVERY + ["performance_metrics", "dependency_mapping", "right_sizing"],
        "supported_platforms": ["vsphere_6_7", "vsphere_7_0", "vsphere_8_0", "vsan", "nsx_t"],
        "required_credentials": ["username", "password"],
        "configuration_schema": _schema(
            {
                "host": {"type": "string", "format": "hostname"},
                "port": {"type": "integer", "default": 443},
                "verify_ssl": {"type": "boolean", "default": True},
                "datacenters": {"type": "array", "items": {"type": "string"}},
                "performance_window_days": {"type": "integer", "minimum": 1, "maximum": 365, "default": 30},
            },
            ["host"],
        ),
    },
    {
        "adapter_name": "VMware vCenter",
        "adapter_type": "virtualization",
        "version": "6.7.0",
        "status": "deprecated",
        "description": "Legacy vSphere 6.x connector, superseded by 8.0.x (vSphere 6.7 reached end of general support).",
        "capabilities": DISCOVERY + ["performance_metrics"],
        "supported_platforms": ["vsphere_6_5", "vsphere_6_7"],
        "required_credentials": ["username", "password"],
        "configuration_schema": _schema(
            {"host": {"type": "string", "format": "hostname"}, "port": {"type": "integer", "default": 443}}, ["host"]
        ),
    },
    {
        "adapter_name": "ServiceNow CMDB",
        "adapter_type": "cmdb",
        "version": "4.1.0",
        "description": "Reads configuration items and relationships from the ServiceNow CMDB (Table and CMDB Instance APIs).",
        "capabilities": DISCOVERY + ["dependency_mapping", "application_ownership", "cmdb_writeback"],
        "supported_platforms": ["servicenow_utah", "servicenow_vancouver", "servicenow_washington", "servicenow_xanadu"],
        "required_credentials": ["client_id", "client_secret", "username", "password"],
        "configuration_schema": _schema(
            {
                "instance_url": {"type": "string", "format": "uri", "pattern": "^https://.+\\.service-now\\.com/?$"},
                "ci_classes": {"type": "array", "items": {"type": "string"}, "default": ["cmdb_ci_server", "cmdb_ci_appl", "cmdb_ci_db_instance"]},
                "page_size": {"type": "integer", "default": 1000},
            },
            ["instance_url"],
        ),
    },
    {
        "adapter_name": "Kubernetes",
        "adapter_type": "container_platform",
        "version": "1.30.0",
        "description": "Workload, service and namespace inventory of Kubernetes and OpenShift clusters.",
        "capabilities": DISCOVERY + ["dependency_mapping", "resource_utilization", "migration_execution"],
        "supported_platforms": ["kubernetes_1_28", "kubernetes_1_29", "kubernetes_1_30", "openshift_4", "eks", "aks", "gke"],
        "required_credentials": ["kubeconfig"],
        "configuration_schema": _schema(
            {
                "api_server": {"type": "string", "format": "uri"},
                "namespaces": {"type": "array", "items": {"type": "string"}},
                "include_system_namespaces": {"type": "boolean", "default": False},
            },
            ["api_server"],
        ),
    },
    {
        "adapter_name": "Oracle Database",
        "adapter_type": "database",
        "version": "19.3.0",
        "description": "Schema, size and AWR workload profile of Oracle databases for 6R and target sizing.",
        "capabilities": DISCOVERY + ["schema_analysis", "workload_profiling", "compatibility_assessment"],
        "supported_platforms": ["oracle_12c", "oracle_18c", "oracle_19c", "oracle_21c", "oracle_rac", "exadata"],
        "required_credentials": ["username", "password"],
        "configuration_schema": _schema(
            {
                "host": {"type": "string", "format": "hostname"},
                "port": {"type": "integer", "default": 1521},
                "service_name": {"type": "string"},
                "use_awr": {"type": "boolean", "default": True, "description": "Needs the Diagnostics Pack licence."},
            },
            ["host", "service_name"],
        ),
    },
    {
        "adapter_name": "Microsoft SQL Server",
        "adapter_type": "database",
        "version": "2.2.0",
        "description": "Instance, database and DMV workload inventory of SQL Server estates.",
        "capabilities": DISCOVERY + ["schema_analysis", "workload_profiling", "compatibility_assessment"],
        "supported_platforms": ["sql_server_2014", "sql_server_2016", "sql_server_2017", "sql_server_2019", "sql_server_2022"],
        "required_credentials": ["username", "password"],
        "configuration_schema": _schema(
            {
                "host": {"type": "string"},
                "port": {"type": "integer", "default": 1433},
                "authentication": {"type": "string", "enum": ["sql", "windows", "entra_id"], "default": "sql"},
                "encrypt": {"type": "boolean", "default": True},
            },
            ["host"],
        ),
    },
    {
        "adapter_name": "SAP Solution Manager",
        "adapter_type": "erp",
        "version": "7.2.0",
        "description": "SAP landscape (systems, clients, interfaces) from Solution Manager LMDB for S/4HANA move planning.",
        "capabilities": DISCOVERY + ["landscape_mapping", "interface_analysis", "sizing"],
        "supported_platforms": ["sap_ecc_6", "sap_s4hana", "sap_bw", "sap_hana", "sap_netweaver"],
        "required_credentials": ["username", "password"],
        "configuration_schema": _schema(
            {
                "odata_url": {"type": "string", "format": "uri"},
                "system_id": {"type": "string", "pattern": "^[A-Z][A-Z0-9]{2}$"},
                "client": {"type": "string", "pattern": "^[0-9]{3}$"},
            },
            ["odata_url", "system_id"],
        ),
    },
    {
        "adapter_name": "Microsoft Hyper-V",
        "adapter_type": "virtualization",
        "version": "2.0.4",
        "description": "Hosts and virtual machines of Hyper-V and System Center Virtual Machine Manager over WinRM.",
        "capabilities": DISCOVERY + ["performance_metrics"],
        "supported_platforms": ["hyper_v_2016", "hyper_v_2019", "hyper_v_2022", "scvmm_2022"],
        "required_credentials": ["username", "password"],
        "configuration_schema": _schema(
            {"host": {"type": "string"}, "use_https": {"type": "boolean", "default": True}, "scvmm": {"type": "boolean", "default": False}},
            ["host"],
        ),
    },
    {
        "adapter_name": "Nutanix Prism Central",
        "adapter_type": "virtualization",
        "version": "1.4.0",
        "description": "Clusters, VMs and capacity from Nutanix Prism Central (v3 API).",
        "capabilities": DISCOVERY + ["performance_metrics", "right_sizing"],
        "supported_platforms": ["nutanix_ahv", "nutanix_aos_6"],
        "required_credentials": ["username", "password"],
        "configuration_schema": _schema({"host": {"type": "string"}, "port": {"type": "integer", "default": 9440}}, ["host"]),
    },
    {
        "adapter_name": "Datadog",
        "adapter_type": "observability",
        "version": "1.6.0",
        "description": "Service map and host metrics from Datadog APM for dependency and utilisation evidence.",
        "capabilities": ["dependency_mapping", "performance_metrics", "resource_utilization"],
        "supported_platforms": ["datadog_us1", "datadog_us3", "datadog_us5", "datadog_eu1"],
        "required_credentials": ["api_key", "application_key"],
        "configuration_schema": _schema(
            {"site": {"type": "string", "enum": ["datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com", "datadoghq.eu"]}}, ["site"]
        ),
    },
    {
        "adapter_name": "Dynatrace",
        "adapter_type": "observability",
        "version": "1.3.2",
        "description": "Smartscape topology and process groups from Dynatrace for application dependency mapping.",
        "capabilities": ["dependency_mapping", "performance_metrics"],
        "supported_platforms": ["dynatrace_saas", "dynatrace_managed"],
        "required_credentials": ["api_token"],
        "configuration_schema": _schema({"environment_url": {"type": "string", "format": "uri"}}, ["environment_url"]),
    },
    {
        "adapter_name": "BMC Helix Discovery",
        "adapter_type": "discovery_tool",
        "version": "2.1.0",
        "description": "Imports hosts, software instances and business application models from BMC Helix Discovery (ADDM).",
        "capabilities": DISCOVERY + ["dependency_mapping", "application_ownership"],
        "supported_platforms": ["helix_discovery_saas", "helix_discovery_22"],
        "required_credentials": ["api_token"],
        "configuration_schema": _schema({"appliance_url": {"type": "string", "format": "uri"}}, ["appliance_url"]),
    },
    {
        "adapter_name": "IBM z/OS",
        "adapter_type": "mainframe",
        "version": "1.1.0",
        "status": "inactive",
        "description": "COBOL/CICS/Db2 inventory from z/OSMF for mainframe modernization (pilot, not generally available).",
        "capabilities": ["asset_discovery", "code_analysis", "batch_job_analysis"],
        "supported_platforms": ["zos_2_4", "zos_2_5", "zos_3_1"],
        "required_credentials": ["username", "password", "client_certificate"],
        "configuration_schema": _schema({"zosmf_url": {"type": "string", "format": "uri"}, "lpar": {"type": "string"}}, ["zosmf_url"]),
    },
]


def ship_registry(apps, schema_editor):
    PlatformAdapter = apps.get_model("platforms", "PlatformAdapter")
    alias = schema_editor.connection.alias
    for entry in ADAPTERS:
        values = {"status": "active", **entry}
        key = {"adapter_name": values.pop("adapter_name"), "version": values.pop("version")}
        PlatformAdapter.objects.using(alias).update_or_create(**key, defaults=values)


def remove_registry(apps, schema_editor):
    PlatformAdapter = apps.get_model("platforms", "PlatformAdapter")
    alias = schema_editor.connection.alias
    for entry in ADAPTERS:
        PlatformAdapter.objects.using(alias).filter(adapter_name=entry["adapter_name"], version=entry["version"]).delete()


class Migration(migrations.Migration):
    dependencies = [("platforms", "0002_row_level_security")]

    operations = [migrations.RunPython(ship_registry, remove_registry)]
