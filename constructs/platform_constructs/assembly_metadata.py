"""Types of the cloud-assembly metadata our constructs write, for tools that read an assembly.

No aws-cdk-lib import here: the cost report reads these without starting Node.js.
"""

#: On a service without an image: the capacity it will run once it has one (fargate_service).
PLANNED_CAPACITY_METADATA = "ticketing:planned-capacity"
