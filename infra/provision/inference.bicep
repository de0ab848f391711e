// Remote inference for a fine-tuned model on Azure Container Apps (GPU workload profile).
// Keep infra/provision/inference.json in step with this file: no Bicep compiler is assumed;
// tests/infra/ compares both structurally and checks the bicep sha256 recorded in the JSON.

@description('Shell commands the container runs at start, joined with "; " and run by /bin/bash -c.')
param defaultCommands array

@description('Maximum number of replicas (and, for a dedicated GPU profile, of GPU nodes).')
@minValue(1)
param maximumInstanceCount int = 1

@description('Minimum number of replicas. 0 lets the app scale to zero when idle (no GPU cost, but the next request waits for a cold start that reloads the model); 1 keeps one replica warm.')
@minValue(0)
param minimumInstanceCount int = 0

@description('GPU workload profile type: serverless A100 or T4, or a dedicated A100 node pool.')
@allowed([
  'Consumption-GPU-NC24-A100'
  'Consumption-GPU-NC8as-T4'
  'NC24-A100'
])
param gpuProfileType string = 'Consumption-GPU-NC24-A100'

@description('Container image with Python and CUDA; the app itself is read from the file share at /mount/inference.')
param containerImage string = 'docker.io/pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime'

param location string = resourceGroup().location

@description('API key the app requires on /v1/* (Authorization: Bearer <key> or api-key: <key>); stored as a Container Apps secret. Provisioning generates one, or keeps the app\'s existing key.')
@secure()
@minLength(16)
param inferenceApiKey string

// Null names are derived from the resource group exactly like the fine-tuning template does,
// so provisioning inference in the fine-tuning resource group reuses its storage and environment.
param storageAccountName string?
param fileShareName string?
param acaEnvironmentName string?
param acaEnvironmentStorageName string?
param acaAppName string?
param acaLogAnalyticsName string?

var resourceSuffix = substring(uniqueString(resourceGroup().id), 0, 5)
var storageName = storageAccountName ?? 'aistorage${resourceSuffix}'
var shareName = fileShareName ?? 'aifileshare${resourceSuffix}'
var environmentName = acaEnvironmentName ?? 'aienv${resourceSuffix}'
var environmentStorageName = acaEnvironmentStorageName ?? 'aienvstorage${resourceSuffix}'
var appName = acaAppName ?? 'aiacaapp${resourceSuffix}'
var logAnalyticsName = acaLogAnalyticsName ?? 'ailog${resourceSuffix}'

var defaultCommand = join(defaultCommands, '; ')
var appPort = 7860
var healthPath = '/health'
// The app reads the key from INFERENCE_API_KEY; `aitk-inference api-key` reads it back with listSecrets.
var apiKeySecretName = 'inference-api-key'
var volumeName = '${shareName}volume'
var dedicatedGpu = gpuProfileType == 'NC24-A100'
// CPU and memory a replica may request on each profile type.
var gpuResources = {
  'Consumption-GPU-NC24-A100': {
    cpu: 24
    memory: '220Gi'
  }
  'Consumption-GPU-NC8as-T4': {
    cpu: 8
    memory: '56Gi'
  }
  'NC24-A100': {
    cpu: 24
    memory: '220Gi'
  }
}
// Only a dedicated profile has a node count; consumption profiles scale per replica.
var gpuWorkloadProfile = union({
  workloadProfileType: gpuProfileType
  name: 'GPU'
}, dedicatedGpu ? {
  minimumCount: 0
  maximumCount: maximumInstanceCount
} : {})
// A variable, not an inline array: the ARM schema does not accept an expression as one array item.
var workloadProfiles = [
  {
    workloadProfileType: 'Consumption'
    name: 'Consumption'
  }
  gpuWorkloadProfile
]
// The share is named by its full path rather than with `parent`: the ARM schema limits the compiled
// name to 63 characters, which the format() expression `parent` compiles to would exceed.
var shareResourceName = '${storageName}/default/${shareName}'

resource storageAccount 'Microsoft.Storage/storageAccounts@2026-04-01' = {
  name: storageName
  location: location
  sku: {
    name: 'Standard_LRS'
  }
  kind: 'StorageV2'
  properties: {
    largeFileSharesState: 'Enabled'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
  }
}

resource defaultFileService 'Microsoft.Storage/storageAccounts/fileServices@2026-04-01' = {
  parent: storageAccount
  name: 'default'
  properties: {
    shareDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource fileShare 'Microsoft.Storage/storageAccounts/fileServices/shares@2026-04-01' = {
  name: shareResourceName
  properties: {
    shareQuota: 1024
  }
  dependsOn: [
    defaultFileService
  ]
}

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2025-07-01' = {
  name: logAnalyticsName
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
  }
}

resource environment 'Microsoft.App/managedEnvironments@2026-01-01' = {
  name: environmentName
  location: location
  properties: {
    zoneRedundant: false
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logAnalytics.properties.customerId
        sharedKey: logAnalytics.listKeys().primarySharedKey
      }
    }
    workloadProfiles: workloadProfiles
  }
}

resource environmentStorage 'Microsoft.App/managedEnvironments/storages@2026-01-01' = {
  parent: environment
  name: environmentStorageName
  properties: {
    azureFile: {
      accountName: storageAccount.name
      accountKey: storageAccount.listKeys().keys[0].value
      shareName: shareName
      accessMode: 'ReadWrite'
    }
  }
  dependsOn: [
    fileShare
  ]
}

resource acaApp 'Microsoft.App/containerApps@2026-01-01' = {
  name: appName
  location: location
  properties: {
    environmentId: environment.id
    workloadProfileName: 'GPU'
    configuration: {
      activeRevisionsMode: 'Single'
      secrets: [
        {
          name: apiKeySecretName
          value: inferenceApiKey
        }
      ]
      ingress: {
        external: true
        targetPort: appPort
        transport: 'auto'
        allowInsecure: false
        traffic: [
          {
            latestRevision: true
            weight: 100
          }
        ]
      }
    }
    template: {
      containers: [
        {
          name: 'inference'
          image: containerImage
          command: [
            '/bin/bash'
            '-c'
          ]
          args: [
            defaultCommand
          ]
          resources: gpuResources[gpuProfileType]
          env: [
            {
              name: 'INFERENCE_API_KEY'
              secretRef: apiKeySecretName
            }
          ]
          probes: [
            {
              // Model download and load can take minutes: allow ~10 minutes before restarting.
              type: 'Startup'
              httpGet: {
                path: healthPath
                port: appPort
                scheme: 'HTTP'
              }
              initialDelaySeconds: 30
              periodSeconds: 60
              timeoutSeconds: 5
              failureThreshold: 10
            }
            {
              type: 'Readiness'
              httpGet: {
                path: healthPath
                port: appPort
                scheme: 'HTTP'
              }
              periodSeconds: 10
              timeoutSeconds: 5
              failureThreshold: 3
            }
            {
              type: 'Liveness'
              httpGet: {
                path: healthPath
                port: appPort
                scheme: 'HTTP'
              }
              periodSeconds: 30
              timeoutSeconds: 5
              failureThreshold: 3
            }
          ]
          volumeMounts: [
            {
              volumeName: volumeName
              mountPath: '/mount'
            }
          ]
        }
      ]
      scale: {
        minReplicas: minimumInstanceCount
        maxReplicas: maximumInstanceCount
      }
      volumes: [
        {
          name: volumeName
          storageType: 'AzureFile'
          storageName: environmentStorage.name
        }
      ]
    }
  }
}

output SUBSCRIPTION_ID string = subscription().subscriptionId
output RESOURCE_GROUP_NAME string = resourceGroup().name
output STORAGE_ACCOUNT_NAME string = storageAccount.name
output FILE_SHARE_NAME string = shareName
output ACA_APP_NAME string = acaApp.name
output ACA_APP_ENDPOINT string = acaApp.properties.configuration.ingress.fqdn
