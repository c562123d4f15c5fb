#!/usr/bin/env bash
# Build the scheduler image, push it to ECR and point the Lambda function at it.
#
#   scheduler_lambda/build_and_push.sh            (from any directory; `make push` runs it)
#
# Every name can be overridden from the environment:
#   CUSTOM_AWS_REGION  region of the repository and the function (us-east-1)
#   FUNCTION_NAME      Lambda function to update (flow-builder-scheduler)
#   ECR_REPOSITORY     ECR repository, created if missing (flow-builder-scheduler)
#   IMAGE_NAME         local image name (flow-builder-scheduler)
#   IMAGE_TAG          tag pushed next to `latest` (the git revision, `-dirty` if uncommitted)
#   LAMBDA_ARCH        x86_64 or arm64 (x86_64); the function is switched to it too
#   LAMBDA_BASE_IMAGE  base image instead of the official one (a mirror, or a stand-in)
#   AWS_ENDPOINT_URL   set: rehearse against an emulator (MiniStack) instead of AWS
#   ECR_REGISTRY       registry host to push to (from the repository URI; the emulator's
#                      host:port when AWS_ENDPOINT_URL is set)
#   DOCKER             docker CLI to use (docker)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
region=${CUSTOM_AWS_REGION:-us-east-1}
function_name=${FUNCTION_NAME:-flow-builder-scheduler}
repository=${ECR_REPOSITORY:-flow-builder-scheduler}
image_name=${IMAGE_NAME:-flow-builder-scheduler}
arch=${LAMBDA_ARCH:-x86_64}
docker=${DOCKER:-docker}
endpoint=${AWS_ENDPOINT_URL:-}
err_file=$(mktemp)
trap 'rm -f "$err_file"' EXIT

say() { echo "build_and_push: $*"; }
die() {
    echo "build_and_push: error: $*" >&2
    exit 1
}
# The last line of a failed command's stderr: the AWS CLI and docker put the reason there.
reason() { tail -n 1 "$err_file"; }

aws_cli() {
    if [[ -n $endpoint ]]; then
        aws --region "$region" --endpoint-url "$endpoint" "$@" 2>"$err_file"
    else
        aws --region "$region" "$@" 2>"$err_file"
    fi
}

case $arch in
    x86_64) platform=linux/amd64 ;;
    arm64) platform=linux/arm64 ;;
    *) die "LAMBDA_ARCH=$arch is not a Lambda architecture: use x86_64 or arm64" ;;
esac

# --- preflight: tools, credentials and the function, before anything is built ------------
command -v "$docker" >/dev/null ||
    die "'$docker' not found: install Docker (or set DOCKER to your docker CLI) and retry"
"$docker" info >/dev/null 2>&1 ||
    die "no Docker engine answers '$docker info': start Docker (Docker Desktop, or 'systemctl start docker') and retry"
# BuildKit's `docker build` may attach provenance attestations, which turn the push into an image
# index that Lambda refuses; buildx switches them off. Without buildx the classic builder makes a
# single-platform image with no index, which Lambda accepts, but only for this host's architecture.
if "$docker" buildx version >/dev/null 2>&1; then
    builder=buildx
else
    builder=classic
    host_arch=$(uname -m)
    [[ $host_arch == "$arch" || ( $host_arch == aarch64 && $arch == arm64 ) ]] ||
        die "LAMBDA_ARCH=$arch differs from this host ($host_arch): a cross-architecture build needs" \
            "the Docker buildx plugin (docker-buildx-plugin); install it and retry"
    say "no docker buildx: building with the classic builder (single platform, $arch); cross-architecture builds need buildx"
fi
command -v aws >/dev/null ||
    die "the aws CLI was not found: install it (pip install awscli, or AWS CLI v2) and retry"

if [[ -n ${IMAGE_TAG:-} ]]; then
    tag=$IMAGE_TAG
elif tag=$(git -C "$repo_root" rev-parse --short=12 HEAD 2>/dev/null); then
    [[ -z $(git -C "$repo_root" status --porcelain 2>/dev/null) ]] || tag="$tag-dirty"
else
    die "$repo_root is not a git checkout, so there is no revision to tag with: set IMAGE_TAG"
fi

account=$(aws_cli sts get-caller-identity --query Account --output text) ||
    die "no usable AWS credentials ($(reason)): configure them" \
        "(aws configure, AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and retry"
target=${endpoint:-AWS}
say "account $account, region $region, target $target"

if ! package_type=$(aws_cli lambda get-function-configuration --function-name "$function_name" \
    --query PackageType --output text); then
    grep -q ResourceNotFoundException "$err_file" ||
        die "cannot read Lambda function '$function_name' ($(reason)): check lambda:GetFunctionConfiguration permission"
    # A first deployment: push, then `make deploy` creates the function with this image.
    say "Lambda function '$function_name' does not exist in $region ($target) yet: pushing only"
    package_type=none
fi
[[ $package_type == Image || $package_type == none ]] ||
    die "Lambda function '$function_name' is a $package_type function, and an image deploys only to a function" \
        "created with PackageType Image: on AWS create it as an image function; locally use EMULATOR=ministack" \
        "(LocalStack Community and the embedded stack deploy the zip)"

# --- the repository ------------------------------------------------------------------------
if ! repository_uri=$(aws_cli ecr describe-repositories --repository-names "$repository" \
    --query 'repositories[0].repositoryUri' --output text); then
    grep -q RepositoryNotFoundException "$err_file" ||
        die "cannot read ECR repository '$repository' ($(reason)): check ecr:DescribeRepositories permission"
    say "creating ECR repository $repository"
    repository_uri=$(aws_cli ecr create-repository --repository-name "$repository" \
        --image-tag-mutability MUTABLE --image-scanning-configuration scanOnPush=true \
        --query 'repository.repositoryUri' --output text) ||
        die "cannot create ECR repository '$repository' ($(reason)):" \
            "check ecr:CreateRepository permission, or create the repository yourself"
fi

registry=${repository_uri%%/*}
if [[ -n $endpoint && $registry == *.amazonaws.com ]]; then
    # An emulator names AWS hosts in its URIs but serves the registry on its own endpoint.
    registry=${endpoint#*://}
    registry=${registry%%/*}
fi
registry=${ECR_REGISTRY:-$registry}
remote=$registry/$repository

# --- build, log in, tag, push ----------------------------------------------------------------
say "building $image_name:$tag for $arch"
build_args=(--build-arg "LAMBDA_ARCH=$arch" --build-arg "LAMBDA_BASE_IMAGE=${LAMBDA_BASE_IMAGE:-}")
if [[ $builder == buildx ]]; then
    "$docker" buildx build --platform "$platform" "${build_args[@]}" --provenance=false --sbom=false --load \
        -t "$image_name:$tag" -f "$repo_root/scheduler_lambda/Dockerfile" "$repo_root"
else
    DOCKER_BUILDKIT=0 "$docker" build "${build_args[@]}" \
        -t "$image_name:$tag" -f "$repo_root/scheduler_lambda/Dockerfile" "$repo_root"
fi || die "docker build failed (output above): fix the build and retry"

password=$(aws_cli ecr get-login-password) ||
    die "cannot get an ECR login token ($(reason)): check ecr:GetAuthorizationToken permission"
"$docker" login --username AWS --password-stdin "$registry" <<<"$password" >/dev/null 2>"$err_file" ||
    die "docker login to $registry was refused ($(reason)): check the registry address and your credentials"

for ref in "$tag" latest; do
    "$docker" tag "$image_name:$tag" "$remote:$ref" || die "docker tag $image_name:$tag $remote:$ref failed"
    say "pushing $remote:$ref"
    "$docker" push "$remote:$ref" 2>"$err_file" ||
        die "push of $remote:$ref was refused ($(reason)): allow ecr:BatchCheckLayerAvailability," \
            "InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload and PutImage on '$repository'" \
            "(IAM policy and repository policy)"
done

digest=$(aws_cli ecr describe-images --repository-name "$repository" --image-ids "imageTag=$tag" \
    --query 'imageDetails[0].imageDigest' --output text) ||
    die "ECR does not list $repository:$tag after the push ($(reason)): check ecr:DescribeImages permission"
image_uri=$remote@$digest

# --- point the function at the pushed digest ---------------------------------------------------
if [[ $package_type == none ]]; then
    say "pushed $image_uri; create $function_name with it: LAMBDA_IMAGE_URI=$image_uri make deploy"
    exit 0
fi
say "updating $function_name to $image_uri"
# An update still in progress (a deploy a moment ago) would make this one fail with a conflict. Wait
# only while it is InProgress: after a Failed one (`lambda wait` stops there), this update is the fix.
for _ in {1..60}; do
    update_status=$(aws_cli lambda get-function-configuration --function-name "$function_name" \
        --query LastUpdateStatus --output text) ||
        die "cannot read the update status of $function_name ($(reason)): check lambda:GetFunctionConfiguration permission"
    [[ $update_status == InProgress ]] || break
    sleep 5
done
[[ $update_status != InProgress ]] ||
    die "$function_name is still in an earlier update after 5 minutes: check it in the Lambda console and retry"
aws_cli lambda update-function-code --function-name "$function_name" --image-uri "$image_uri" \
    --architectures "$arch" >/dev/null ||
    die "Lambda refused the image ($(reason)): the identity running this needs lambda:UpdateFunctionCode" \
        "and ecr:BatchGetImage + ecr:GetDownloadUrlForLayer on '$repository', whose policy must let" \
        "lambda.amazonaws.com pull (Lambda adds that statement when you may ecr:SetRepositoryPolicy)"
if ! aws_cli lambda wait function-updated --function-name "$function_name"; then
    why=$(aws_cli lambda get-function-configuration --function-name "$function_name" \
        --query LastUpdateStatusReason --output text) || why=$(reason)
    die "the update of $function_name did not finish: $why"
fi
say "done: $function_name runs $image_uri"
